use clap::Parser;

fn main() {
    let cli = reflectdiffu::cli::Cli::parse();
    if let Err(e) = reflectdiffu::cli::run(cli) {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}
