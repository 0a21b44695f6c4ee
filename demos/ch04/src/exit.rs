//! How a demo ends: servers run until Ctrl-C, one-shot commands print their
//! answer; either way a failure is one `error: …` line on stderr and exit status 1.

use std::process::ExitCode;

use solution04::Shutdown;

/// Exit status 0, or the error on stderr and status 1.
pub fn exit_with(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a one-shot command's answer, or its error.
pub fn print_or_fail(answer: Result<String, String>) -> ExitCode {
    exit_with(answer.map(|text| println!("{text}")))
}

/// Runs a server loop with a stop flag that Ctrl-C raises.
pub fn until_ctrl_c(serve: impl FnOnce(&Shutdown) -> Result<(), String>) -> ExitCode {
    let stop = Shutdown::new();
    let stopper = stop.clone();
    let outcome = ctrlc::set_handler(move || stopper.stop())
        .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))
        .and_then(|()| serve(&stop));
    exit_with(outcome)
}
