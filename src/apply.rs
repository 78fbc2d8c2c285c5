//! Applying versions to a borrowed connection: transactions, control table, locking.
