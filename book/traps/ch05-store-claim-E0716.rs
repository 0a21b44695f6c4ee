// Step 05.1, store-claim: `query_map` borrows the prepared statement, so rows kept
// past the end of the `let` outlive a statement that was only a temporary. (A
// stand-in for rusqlite's Transaction, Statement and MappedRows, which borrow the
// same way.)
pub struct Transaction {
    rows: Vec<i64>,
}

pub struct Statement<'tx> {
    tx: &'tx Transaction,
}

pub struct Rows<'s, 'tx> {
    statement: &'s mut Statement<'tx>,
    at: usize,
}

impl Transaction {
    pub fn prepare_cached(&self) -> Statement<'_> {
        Statement { tx: self }
    }
}

impl<'tx> Statement<'tx> {
    pub fn query_map(&mut self) -> Rows<'_, 'tx> {
        Rows {
            statement: self,
            at: 0,
        }
    }
}

impl Iterator for Rows<'_, '_> {
    type Item = i64;
    fn next(&mut self) -> Option<i64> {
        let id = self.statement.tx.rows.get(self.at).copied();
        self.at += 1;
        id
    }
}

// Like rusqlite's, the statement finalizes itself when dropped.
impl Drop for Statement<'_> {
    fn drop(&mut self) {}
}

pub fn lease_next(tx: &Transaction) -> Vec<i64> {
    let expired = tx.prepare_cached().query_map();
    let mut next = Vec::new();
    for task_id in expired {
        next.push(task_id);
    }
    next
}
