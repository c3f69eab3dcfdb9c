//! The pages, one module each; the dead-letter page's selection is shared with its actions.

pub(crate) mod consumers;
pub(crate) mod dead;
pub(crate) mod overview;
pub(crate) mod periodic;
pub(crate) mod queues;
pub(crate) mod task;
