//! Tests that need root (or `CAP_SYS_ADMIN`, to mount a file system): where the privilege
//! is missing they skip and say why, unless `QUEUEPRIM_REQUIRE_ROOT_TESTS=1` (set by CI),
//! which makes the missing privilege a failure so these tests cannot silently stop running.

use std::io::Write;

/// The variable that turns a skip for want of privilege into a failure.
pub const REQUIRE_VAR: &str = "QUEUEPRIM_REQUIRE_ROOT_TESTS";

/// Called by a test that cannot get the privilege it needs (`why` says what failed): fails
/// the test where the privilege is required, and otherwise reports the skip on stderr, past
/// the test harness's output capture so that every run shows it. The test then returns.
#[track_caller]
pub fn skip_without_privilege(test: &str, why: &str) {
    if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
        panic!("{test} needs root or CAP_SYS_ADMIN, which {REQUIRE_VAR}=1 requires: {why}");
    }
    // Written to the handle directly: libtest captures only the print macros.
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: {why}; run as root or with CAP_SYS_ADMIN ({REQUIRE_VAR}=1 makes this \
         a failure, as in CI)"
    );
}
