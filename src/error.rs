//! User-facing errors: every one carries a SQLSTATE, names the object, and hints where it helps.

use crate::rules::RuleError;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgLogLevel;

pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, detail: Option<String>, hint: Option<String>) -> ! {
    let mut report = ErrorReport::new(code, message.into(), "pg_vigil");
    if let Some(d) = detail {
        report = report.set_detail(d);
    }
    if let Some(h) = hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

pub fn warning(message: impl Into<String>, detail: Option<String>) {
    let mut report = ErrorReport::new(PgSqlErrorCode::ERRCODE_WARNING, message.into(), "pg_vigil");
    if let Some(d) = detail {
        report = report.set_detail(d);
    }
    report.report(PgLogLevel::WARNING);
}

pub fn notice(message: impl Into<String>) {
    ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, message.into(), "pg_vigil")
        .report(PgLogLevel::NOTICE);
}

/// Maps a refused declaration to its SQLSTATE; `subject` names the constraint's table and column.
pub fn raise_rule_error(err: &RuleError, subject: &str) -> ! {
    use PgSqlErrorCode::*;
    let code = match err {
        RuleError::WrongType { .. } => ERRCODE_DATATYPE_MISMATCH,
        RuleError::InvalidParameter(_) => ERRCODE_INVALID_PARAMETER_VALUE,
        RuleError::NullValue(_) => ERRCODE_NULL_VALUE_NOT_ALLOWED,
        RuleError::InvalidRegex(_) => ERRCODE_INVALID_REGULAR_EXPRESSION,
        RuleError::BadValue(_) => ERRCODE_INVALID_TEXT_REPRESENTATION,
    };
    let hint = match err {
        RuleError::InvalidRegex(_) => {
            Some("Patterns use Rust regex syntax: no lookaround or backreferences.".to_string())
        }
        _ => None,
    };
    raise(code, format!("{subject}: {err}"), None, hint)
}

/// An internal failure (an SPI error where none is expected), as XX000 saying what failed.
pub fn internal(what: &str, e: impl std::fmt::Display) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("{what}: {e}"), None, None)
}
