//! `kith export-graph` and `kith export links`.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith export-graph`.
pub(crate) fn export_graph(db_dir: &PathBuf, out: PathBuf) -> CliResult {
    let db = open_existing(db_dir)?;
    std::fs::create_dir_all(&out)?;
    let mut nodes = std::io::BufWriter::new(std::fs::File::create(out.join("nodes.csv"))?);
    let mut edges = std::io::BufWriter::new(std::fs::File::create(out.join("edges.csv"))?);
    use std::io::Write;
    writeln!(nodes, "id,kind,product_type,balance")?;
    writeln!(edges, "from,to,kind")?;
    let (mut n_nodes, mut n_edges) = (0u64, 0u64);
    for (kind, name) in db.entity_kinds() {
        let mut after = None;
        loop {
            let page = db.list(kind, after, 10_000)?;
            for id in &page.ids {
                let Some(e) = db.get(*id)? else { continue };
                let product = e.text(kith::attrs::PRODUCT_TYPE).unwrap_or("");
                let balance = e
                    .attr(kith::attrs::BALANCE)
                    .and_then(|v| v.as_decimal())
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "0".into());
                writeln!(nodes, "{},{name},{product},{balance}", id.0)?;
                n_nodes += 1;
                for n in db.edges(*id, kith::Direction::Out)? {
                    let k = db
                        .relationship_kind_name(n.kind)
                        .unwrap_or_else(|| n.kind.to_string());
                    writeln!(edges, "{},{},{k}", id.0, n.id.0)?;
                    n_edges += 1;
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    nodes.flush()?;
    edges.flush()?;
    println!(
        "wrote {n_nodes} nodes and {n_edges} edges to {}",
        out.display()
    );
    Ok(0)
}

/// `kith export`.
pub(crate) fn export(db_dir: &PathBuf, what: String) -> CliResult {
    if what != "links" {
        return Err(format!("can export: links (not {what:?})").into());
    }
    let db = open_existing(db_dir)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = import::export_links(&db, &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(code)
}
