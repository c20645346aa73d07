//! `snapshot import` and `snapshot export`: fixtures to snapshots and back.

use cloudkestrel::untrusted::Escaped;
use cloudkestrel::{fixture, snapshot, Exit};

use super::{fail, SnapshotCommand};

pub fn run(command: SnapshotCommand) -> Exit {
    match command {
        SnapshotCommand::Import { fixture: file, out } => {
            let account = match fixture::load(&file) {
                Ok(a) => a,
                Err(e) => return fail(Exit::Usage, e),
            };
            match snapshot::write(&out, &account) {
                Ok(()) => {
                    say!(
                        "wrote {} (target {})",
                        Escaped(out.display()),
                        Escaped(&account.metadata.target)
                    );
                    Exit::Pass
                }
                Err(e) => fail(Exit::Incomplete, e),
            }
        }
        SnapshotCommand::Export { snapshot: path } => match snapshot::read(&path) {
            Ok(account) => {
                say_part!("{}", fixture::to_json(&account));
                Exit::Pass
            }
            Err(e) => fail(Exit::Incomplete, e),
        },
    }
}
