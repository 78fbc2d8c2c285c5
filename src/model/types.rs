//! Friendly column-type aliases for the TOML model (`string(64)` → `VARCHAR(64)`).

/// Known type names (lower case) and the SQL they stand for. A size or precision in
/// parentheses is carried over: `string(64)` → `VARCHAR(64)`, `decimal(10,2)` → `DECIMAL(10,2)`.
const ALIASES: &[(&str, &str)] = &[
    ("string", "VARCHAR"),
    ("varchar", "VARCHAR"),
    ("char", "CHAR"),
    ("character", "CHARACTER"),
    ("nvarchar", "NVARCHAR"),
    ("nchar", "NCHAR"),
    ("text", "TEXT"),
    ("clob", "CLOB"),
    ("integer", "INTEGER"),
    ("int", "INT"),
    ("bigint", "BIGINT"),
    ("smallint", "SMALLINT"),
    ("tinyint", "TINYINT"),
    ("boolean", "BOOLEAN"),
    ("bool", "BOOLEAN"),
    ("datetime", "DATETIME"),
    ("timestamp", "TIMESTAMP"),
    ("date", "DATE"),
    ("time", "TIME"),
    ("float", "FLOAT"),
    ("real", "REAL"),
    ("double", "DOUBLE"),
    ("numeric", "NUMERIC"),
    ("decimal", "DECIMAL"),
    ("blob", "BLOB"),
    ("binary", "BLOB"),
    ("json", "JSON"),
    ("any", "ANY"),
];

/// Resolves a friendly type (`string(64)`, `Integer`, `decimal(10, 2)`) to its SQL text.
/// Returns `None` for a name that is not known; `sql_type` takes any text verbatim.
pub fn resolve_alias(friendly: &str) -> Option<String> {
    let s = friendly.trim();
    let (base, args) = match s.find('(') {
        Some(open) => {
            let close = s.rfind(')')?;
            if close != s.len() - 1 || close < open {
                return None;
            }
            let inner: Vec<String> = s[open + 1..close]
                .split(',')
                .map(|a| a.trim().to_string())
                .collect();
            if inner.iter().any(|a| {
                a.is_empty()
                    || !a
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
            }) {
                return None;
            }
            (s[..open].trim(), Some(inner.join(",")))
        }
        None => (s, None),
    };
    let sql = ALIASES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(base))
        .map(|(_, sql)| *sql)?;
    Some(match args {
        Some(a) => format!("{sql}({a})"),
        None => sql.to_string(),
    })
}

/// The friendly spelling of a declared SQL type, when resolving it gives the same text back
/// (so `create-model` can write `type = "string(64)"` and stay exact).
pub fn friendly_name(sql_type: &str) -> Option<String> {
    if sql_type.is_empty() {
        return None;
    }
    let candidate = match sql_type.find('(') {
        Some(open) => {
            let base = &sql_type[..open];
            let alias = if base == "VARCHAR" { "string" } else { base };
            format!("{}{}", alias.to_ascii_lowercase(), &sql_type[open..])
        }
        None => sql_type.to_ascii_lowercase(),
    };
    (resolve_alias(&candidate).as_deref() == Some(sql_type)).then_some(candidate)
}

/// Names accepted by `type`, for error messages.
pub fn known_names() -> String {
    let mut names: Vec<&str> = ALIASES.iter().map(|(n, _)| *n).collect();
    names.dedup();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve() {
        assert_eq!(resolve_alias("string(64)").as_deref(), Some("VARCHAR(64)"));
        assert_eq!(resolve_alias("Integer").as_deref(), Some("INTEGER"));
        assert_eq!(
            resolve_alias("decimal(10, 2)").as_deref(),
            Some("DECIMAL(10,2)")
        );
        assert_eq!(resolve_alias("datetime").as_deref(), Some("DATETIME"));
        assert_eq!(resolve_alias("strng"), None);
        assert_eq!(resolve_alias("string(x)"), None);
    }

    #[test]
    fn friendly_round_trips() {
        assert_eq!(friendly_name("VARCHAR(64)").as_deref(), Some("string(64)"));
        assert_eq!(friendly_name("INTEGER").as_deref(), Some("integer"));
        assert_eq!(friendly_name("varchar(64)"), None);
        assert_eq!(friendly_name("UNSIGNED BIG INT"), None);
        assert_eq!(friendly_name(""), None);
    }
}
