use clap::Parser;

fn main() {
    // Rust ignores SIGPIPE, which turns a closed stdout (`| head -1`) into a panic inside println!.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    reflectdiffu::train::reuse_freed_memory();
    let cli = reflectdiffu::cli::Cli::parse();
    if let Err(e) = reflectdiffu::cli::run(cli) {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}
