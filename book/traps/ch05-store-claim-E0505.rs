// Step 05.1, store-claim: a prepared statement borrows its transaction until it is
// dropped, so the transaction cannot be committed (moved) while it lives. (A
// stand-in for rusqlite's Transaction and Statement, which borrow the same way.)
pub struct Transaction {
    rows: Vec<i64>,
}

pub struct Statement<'tx> {
    tx: &'tx Transaction,
}

impl Transaction {
    pub fn prepare(&self) -> Statement<'_> {
        Statement { tx: self }
    }
    pub fn commit(self) {}
}

impl Statement<'_> {
    pub fn ids(&mut self) -> Vec<i64> {
        self.tx.rows.clone()
    }
}

// Like rusqlite's, the statement finalizes itself when dropped.
impl Drop for Statement<'_> {
    fn drop(&mut self) {}
}

pub fn claim(tx: Transaction) -> Vec<i64> {
    let mut statement = tx.prepare();
    let ids = statement.ids();
    tx.commit();
    ids
}
