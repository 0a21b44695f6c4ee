// Step 07.1, message_for: the error for a refused task wants the task's id.
pub struct Task {
    pub id: String,
}

pub struct TaskMessage;

pub enum ControllerError {
    BadTask { id: String, reason: String },
}

fn check(_task: &Task) -> Result<(), String> {
    Ok(())
}

pub fn message_for(task: &Task) -> Result<TaskMessage, ControllerError> {
    check(task).map_err(|reason| ControllerError::BadTask { id: task.id, reason })?;
    Ok(TaskMessage)
}
