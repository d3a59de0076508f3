//! The `coursewright` executable: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = coursewright::cli::Cli::parse();
    coursewright::run(cli)
}
