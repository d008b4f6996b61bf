//! Builds one kustomization with Ballast's engine and prints the objects, one JSON document per
//! line: `kustomize_build ROOT DIR`. Handy next to `kubectl kustomize DIR` when a corpus entry
//! differs (see `scripts/kustomize-corpus`).

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, dir] = args.as_slice() else {
        eprintln!("usage: kustomize_build ROOT DIR");
        std::process::exit(2);
    };
    match ballast_render::kustomize::build(Path::new(root), Path::new(dir)) {
        Ok(objects) => {
            for m in objects {
                println!("{}", m.object);
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
