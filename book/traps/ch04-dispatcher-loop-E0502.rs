// Step 04.3, dispatcher-loop: the poll items still borrow the sockets while the
// loop answers one of them through `&mut self`. (A stand-in for zmq's PollItem,
// which borrows its socket the same way.)
pub struct Socket;
pub struct PollItem<'a>(&'a Socket);

impl Socket {
    pub fn as_poll_item(&self) -> PollItem<'_> {
        PollItem(self)
    }
}

impl PollItem<'_> {
    pub fn is_readable(&self) -> bool {
        true
    }
}

pub struct Dispatcher {
    workers: Socket,
    clients: Socket,
    answered: usize,
}

impl Dispatcher {
    fn answer_worker(&mut self) {
        self.answered += 1;
    }

    pub fn serve_once(&mut self) {
        let items = [self.workers.as_poll_item(), self.clients.as_poll_item()];
        if items[0].is_readable() {
            self.answer_worker();
        }
        if items[1].is_readable() {
            self.answered += 1;
        }
    }
}
