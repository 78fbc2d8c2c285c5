//! `CREATE TABLE` / `CREATE INDEX` text → owned parts of the model.
//!
//! The typed facts (flags, names, actions, ON CONFLICT) come from the `sqlite3-parser` AST;
//! expression source text (CHECK, generated columns, index terms, partial-index WHERE) comes
//! from token byte spans of the same text, because the AST keeps no spans and its `Display`
//! reformats. The AST is converted right here so the arena never leaves this module.

use crate::model::{
    Check, Conflict, FkAction, ForeignKey, Generated, IndexPart, Order, PrimaryKey, Unique,
};
use crate::sql::{tokens, unquote, Tok};
use sqlite3_parser::ast::{
    Cmd, ColumnConstraint, CreateTableBody, DeferSubclause, Expr, ForeignKeyClause, IndexedColumn,
    InitDeferredPred, Literal, NamedColumnConstraint, NamedTableConstraint, RefAct, RefArg,
    ResolveType, SortOrder, SortedColumn, Stmt, TabFlags, TableConstraint,
};
use sqlite3_parser::dialect::TokenType;
use sqlite3_parser::lexer::sql::Parser;
use sqlite3_parser::{Bump, FallibleIterator};

/// A column as far as the CREATE text tells (type and default come from the pragmas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedColumn {
    pub name: String,
    pub not_null: bool,
    pub not_null_on_conflict: Option<Conflict>,
    pub collate: Option<String>,
    pub generated: Option<Generated>,
}

/// The parts of a table that only its CREATE text holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedTable {
    pub columns: Vec<ParsedColumn>,
    pub primary_key: Option<PrimaryKey>,
    pub uniques: Vec<Unique>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
    pub without_rowid: bool,
    pub strict: bool,
}

/// What a `sqlite_schema` row of type `table` turned out to be.
#[derive(Debug)]
pub(crate) enum TableSql {
    Table(ParsedTable),
    Virtual,
}

/// One term of a `CREATE INDEX`, before the pragmas say whether it is a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedIndexTerm {
    /// Source text of the term without a trailing `COLLATE x` / `ASC` / `DESC`.
    pub text: String,
    pub collate: Option<String>,
    pub order: Order,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedIndex {
    pub unique: bool,
    pub terms: Vec<ParsedIndexTerm>,
    pub where_clause: Option<String>,
}

fn conflict(r: &Option<ResolveType>) -> Option<Conflict> {
    r.map(|r| match r {
        ResolveType::Rollback => Conflict::Rollback,
        ResolveType::Abort => Conflict::Abort,
        ResolveType::Fail => Conflict::Fail,
        ResolveType::Ignore => Conflict::Ignore,
        ResolveType::Replace => Conflict::Replace,
    })
}

fn action(a: RefAct) -> FkAction {
    match a {
        RefAct::SetNull => FkAction::SetNull,
        RefAct::SetDefault => FkAction::SetDefault,
        RefAct::Cascade => FkAction::Cascade,
        RefAct::Restrict => FkAction::Restrict,
        RefAct::NoAction => FkAction::NoAction,
    }
}

fn order(o: Option<SortOrder>) -> Order {
    match o {
        Some(SortOrder::Desc) => Order::Desc,
        _ => Order::Asc,
    }
}

fn is_deferred(d: &Option<DeferSubclause>) -> bool {
    matches!(
        d,
        Some(DeferSubclause {
            deferrable: true,
            init_deferred: Some(InitDeferredPred::InitiallyDeferred),
        })
    )
}

/// The column a PK/UNIQUE term names (SQLite accepts an identifier, a string used as one,
/// or either in parentheses, each optionally with COLLATE).
fn term_column(e: &Expr<'_>) -> Option<(String, Option<String>)> {
    match e {
        Expr::Id(id) => Some((unquote(id.0), None)),
        Expr::Name(n) => Some((unquote(n.0), None)),
        Expr::Literal(Literal::String(s)) => Some((unquote(s), None)),
        Expr::Parenthesized(v) if v.len() == 1 => term_column(&v[0]),
        Expr::Collate(inner, name) => {
            let (col, _) = term_column(inner)?;
            Some((col, Some(unquote(name))))
        }
        _ => None,
    }
}

/// Maps a written column name to the table's own spelling (SQLite folds ASCII case).
fn canonical(columns: &[ParsedColumn], name: String) -> String {
    columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(&name))
        .map(|c| c.name.clone())
        .unwrap_or(name)
}

fn parts(columns: &[ParsedColumn], terms: &[SortedColumn<'_>]) -> Result<Vec<IndexPart>, String> {
    terms
        .iter()
        .map(|t| {
            let (col, collate) = term_column(&t.expr).ok_or_else(|| {
                "expressions are not allowed in PRIMARY KEY or UNIQUE".to_string()
            })?;
            Ok(IndexPart {
                target: canonical(columns, col),
                expr: false,
                collate,
                order: order(t.order),
            })
        })
        .collect()
}

fn fk(
    columns: &[ParsedColumn],
    name: Option<String>,
    from: Vec<String>,
    clause: &ForeignKeyClause<'_>,
    defer: &Option<DeferSubclause>,
) -> ForeignKey {
    let mut on_delete = FkAction::NoAction;
    let mut on_update = FkAction::NoAction;
    for a in clause.args.iter() {
        match a {
            RefArg::OnDelete(a) => on_delete = action(*a),
            RefArg::OnUpdate(a) => on_update = action(*a),
            RefArg::OnInsert(_) | RefArg::Match(_) => {}
        }
    }
    ForeignKey {
        name,
        columns: from.into_iter().map(|c| canonical(columns, c)).collect(),
        ref_table: unquote(clause.tbl_name.0),
        ref_columns: clause
            .columns
            .unwrap_or(&[])
            .iter()
            .map(|c: &IndexedColumn<'_>| unquote(c.col_name.0))
            .collect(),
        on_delete,
        on_update,
        deferred: is_deferred(defer),
    }
}

/// Index of the `)` matching the `(` at `open`.
fn matching(toks: &[Tok<'_>], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            TokenType::TK_LP => depth += 1,
            TokenType::TK_RP => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Source text of tokens `from..to` (exclusive), from the first token's start to the last
/// token's end: comments and blanks at the edges are dropped, inner ones kept.
fn span(sql: &str, toks: &[Tok<'_>], from: usize, to: usize) -> String {
    if from >= to {
        return String::new();
    }
    sql[toks[from].start..toks[to - 1].end].to_string()
}

/// The text inside `KW ( ... )` for every `kind` keyword at depth 1 of the table body.
fn body_exprs(sql: &str, toks: &[Tok<'_>], kind: TokenType) -> Option<Vec<String>> {
    let open = toks.iter().position(|t| t.kind == TokenType::TK_LP)?;
    let close = matching(toks, open)?;
    let mut out = vec![];
    let mut depth = 0usize;
    let mut i = open;
    while i <= close {
        match toks[i].kind {
            TokenType::TK_LP => depth += 1,
            TokenType::TK_RP => depth = depth.saturating_sub(1),
            k if k == kind && depth == 1 => {
                let lp = i + 1;
                if toks.get(lp)?.kind != TokenType::TK_LP {
                    return None;
                }
                let rp = matching(toks, lp)?;
                out.push(span(sql, toks, lp + 1, rp));
                i = rp;
            }
            _ => {}
        }
        i += 1;
    }
    Some(out)
}

fn parse_one<'a>(bump: &'a Bump, sql: &'a str) -> Result<Stmt<'a>, String> {
    let mut p = Parser::new(bump, sql.as_bytes());
    match p.next() {
        Ok(Some(Cmd::Stmt(s))) => Ok(s),
        Ok(Some(_)) => Err("not a CREATE statement".into()),
        Ok(None) => Err("empty SQL".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses the `sql` of a `table` row of `sqlite_schema`.
pub(crate) fn parse_table(sql: &str) -> Result<TableSql, String> {
    let bump = Bump::new();
    let stmt = parse_one(&bump, sql)?;
    let (columns_ast, constraints, flags) = match stmt {
        Stmt::CreateVirtualTable { .. } => return Ok(TableSql::Virtual),
        Stmt::CreateTable {
            body:
                CreateTableBody::ColumnsAndConstraints {
                    columns,
                    constraints,
                    flags,
                },
            ..
        } => (columns, constraints, flags),
        Stmt::CreateTable { .. } => return Err("CREATE TABLE .. AS SELECT".into()),
        _ => return Err("not a CREATE TABLE statement".into()),
    };
    let toks = tokens(sql).ok_or("the SQL does not tokenize")?;
    let gen_texts = body_exprs(sql, &toks, TokenType::TK_AS).ok_or("unbalanced parentheses")?;
    let check_texts =
        body_exprs(sql, &toks, TokenType::TK_CHECK).ok_or("unbalanced parentheses")?;

    let mut t = ParsedTable {
        without_rowid: flags.contains(TabFlags::WithoutRowid),
        strict: flags.contains(TabFlags::Strict),
        ..ParsedTable::default()
    };
    // Column names first, so constraint references can be mapped to their spelling.
    t.columns = columns_ast
        .iter()
        .map(|c| ParsedColumn {
            name: unquote(c.col_name.0),
            not_null: false,
            not_null_on_conflict: None,
            collate: None,
            generated: None,
        })
        .collect();

    let mut texts = Texts {
        generated: gen_texts.into_iter(),
        checks: check_texts.into_iter(),
    };
    for (ci, cd) in columns_ast.iter().enumerate() {
        column_constraints(&mut t, ci, cd.constraints, &mut texts)?;
    }
    for nc in constraints.unwrap_or(&[]).iter() {
        table_constraint(&mut t, nc, &mut texts)?;
    }
    if texts.generated.next().is_some() || texts.checks.next().is_some() {
        return Err(mismatch());
    }
    Ok(TableSql::Table(t))
}

fn mismatch() -> String {
    "cannot match expressions to their source text".to_string()
}

/// The source texts of a table's generated-column and CHECK expressions, in text order,
/// taken one by one as the AST walk meets them.
struct Texts {
    generated: std::vec::IntoIter<String>,
    checks: std::vec::IntoIter<String>,
}

/// Column `ci`'s constraints into the table: its key, NOT NULL, UNIQUE, CHECK, COLLATE,
/// REFERENCES, GENERATED.
fn column_constraints(
    t: &mut ParsedTable,
    ci: usize,
    constraints: &[NamedColumnConstraint<'_>],
    texts: &mut Texts,
) -> Result<(), String> {
    let col_name = t.columns[ci].name.clone();
    for nc in constraints {
        let cname = nc.name.as_ref().map(|n| unquote(n.0));
        match &nc.constraint {
            ColumnConstraint::PrimaryKey {
                order: o,
                conflict_clause,
                auto_increment,
            } => {
                t.primary_key = Some(PrimaryKey {
                    name: cname,
                    columns: vec![IndexPart {
                        target: col_name.clone(),
                        expr: false,
                        collate: None,
                        order: order(*o),
                    }],
                    autoincrement: *auto_increment,
                    on_conflict: conflict(conflict_clause),
                    inline: true,
                });
            }
            ColumnConstraint::NotNull {
                nullable,
                conflict_clause,
            } => {
                if !nullable {
                    t.columns[ci].not_null = true;
                    t.columns[ci].not_null_on_conflict = conflict(conflict_clause);
                }
            }
            ColumnConstraint::Unique(r) => t.uniques.push(Unique {
                name: cname,
                columns: vec![IndexPart::column(col_name.clone())],
                on_conflict: conflict(r),
            }),
            ColumnConstraint::Check(_) => t.checks.push(Check {
                name: cname,
                expr: texts.checks.next().ok_or_else(mismatch)?,
                column: Some(col_name.clone()),
            }),
            ColumnConstraint::Default(_) => {}
            ColumnConstraint::Defer(d) => {
                // A detached `DEFERRABLE ..` applies to the column's last REFERENCES,
                // as in SQLite's sqlite3DeferForeignKey.
                if let Some(last) = t.foreign_keys.last_mut() {
                    last.deferred = is_deferred(&Some(d.clone()));
                }
            }
            ColumnConstraint::Collate { collation_name } => {
                t.columns[ci].collate = Some(unquote(collation_name.0));
            }
            ColumnConstraint::ForeignKey {
                clause,
                defer_clause,
            } => {
                let f = fk(
                    &t.columns,
                    cname,
                    vec![col_name.clone()],
                    clause,
                    defer_clause,
                );
                t.foreign_keys.push(f);
            }
            ColumnConstraint::Generated { typ, .. } => {
                let stored = typ
                    .as_ref()
                    .is_some_and(|id| id.0.eq_ignore_ascii_case("STORED"));
                t.columns[ci].generated = Some(Generated {
                    expr: texts.generated.next().ok_or_else(mismatch)?,
                    stored,
                });
            }
        }
    }
    Ok(())
}

/// One table constraint into the table: PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY.
fn table_constraint(
    t: &mut ParsedTable,
    nc: &NamedTableConstraint<'_>,
    texts: &mut Texts,
) -> Result<(), String> {
    let cname = nc.name.as_ref().map(|n| unquote(n.0));
    match &nc.constraint {
        TableConstraint::PrimaryKey {
            columns,
            auto_increment,
            conflict_clause,
        } => {
            t.primary_key = Some(PrimaryKey {
                name: cname,
                columns: parts(&t.columns, columns)?,
                autoincrement: *auto_increment,
                on_conflict: conflict(conflict_clause),
                inline: false,
            });
        }
        TableConstraint::Unique {
            columns,
            conflict_clause,
        } => {
            let columns = parts(&t.columns, columns)?;
            t.uniques.push(Unique {
                name: cname,
                columns,
                on_conflict: conflict(conflict_clause),
            });
        }
        TableConstraint::Check(_, _) => t.checks.push(Check {
            name: cname,
            expr: texts.checks.next().ok_or_else(mismatch)?,
            column: None,
        }),
        TableConstraint::ForeignKey {
            columns,
            clause,
            defer_clause,
        } => {
            let from = columns.iter().map(|c| unquote(c.col_name.0)).collect();
            let f = fk(&t.columns, cname, from, clause, defer_clause);
            t.foreign_keys.push(f);
        }
    }
    Ok(())
}

/// Parses the `sql` of an `index` row of `sqlite_schema` (a `CREATE INDEX`).
pub(crate) fn parse_index(sql: &str) -> Result<ParsedIndex, String> {
    let bump = Bump::new();
    let (unique, columns, has_where) = match parse_one(&bump, sql)? {
        Stmt::CreateIndex {
            unique,
            columns,
            where_clause,
            ..
        } => (unique, columns, where_clause.is_some()),
        _ => return Err("not a CREATE INDEX statement".into()),
    };
    let toks = tokens(sql).ok_or("the SQL does not tokenize")?;
    let on = toks
        .iter()
        .position(|t| t.kind == TokenType::TK_ON)
        .ok_or("no ON")?;
    let open = on
        + toks[on..]
            .iter()
            .position(|t| t.kind == TokenType::TK_LP)
            .ok_or("no column list")?;
    let close = matching(&toks, open).ok_or("unbalanced parentheses")?;

    // Split the column list at depth-1 commas.
    let mut ranges = vec![];
    let mut depth = 0usize;
    let mut start = open + 1;
    for (i, t) in toks.iter().enumerate().take(close + 1).skip(open) {
        match t.kind {
            TokenType::TK_LP => depth += 1,
            TokenType::TK_RP => {
                depth -= 1;
                if depth == 0 {
                    ranges.push((start, i));
                }
            }
            TokenType::TK_COMMA if depth == 1 => {
                ranges.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    if ranges.len() != columns.len() {
        return Err("cannot match index terms to their source text".into());
    }
    let mut terms = vec![];
    for (sc, &(from, mut to)) in columns.iter().zip(&ranges) {
        if sc.nulls.is_some() {
            return Err("NULLS FIRST/LAST in an index".into());
        }
        if sc.order.is_some() {
            to -= 1; // ASC / DESC
        }
        let collate = match &sc.expr {
            // Only a top-level COLLATE is the term's collation; `a || b COLLATE x` is not.
            Expr::Collate(_, name) => {
                to = to.saturating_sub(2);
                if toks.get(to).map(|t| t.kind) != Some(TokenType::TK_COLLATE) {
                    return Err("cannot find the COLLATE of an index term".into());
                }
                Some(unquote(name))
            }
            _ => None,
        };
        terms.push(ParsedIndexTerm {
            text: span(sql, &toks, from, to),
            collate,
            order: order(sc.order),
        });
    }
    let where_clause = if has_where {
        let w = close + 1;
        if toks.get(w).map(|t| t.kind) != Some(TokenType::TK_WHERE) {
            return Err("cannot find the WHERE of a partial index".into());
        }
        let mut end = toks.len();
        while end > w + 1 && toks[end - 1].kind == TokenType::TK_SEMI {
            end -= 1;
        }
        Some(span(sql, &toks, w + 1, end))
    } else {
        None
    };
    Ok(ParsedIndex {
        unique,
        terms,
        where_clause,
    })
}
