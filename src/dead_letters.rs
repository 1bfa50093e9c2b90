//! `echostream dead-letters`: lists the events consumers parked, and asks for their
//! replay (see `echostream_ports::events::dead_letters`).

use anyhow::{Result, bail};
use clap::Subcommand;
use echostream_config::{Config, Subgraph};
use echostream_ports::events::dead_letters;
use uuid::Uuid;

/// What to do with parked events.
#[derive(Subcommand)]
pub enum Action {
    /// Print every parked event of every subgraph (or of `--subgraph`), one JSON
    /// object per line: id, consumer, topic, partition, offset, error, event.
    List {
        #[arg(long)]
        subgraph: Option<String>,
    },
    /// Ask the running consumers to apply parked events again: the one with `--id`,
    /// or all of them with `--all` (of every subgraph, or of `--subgraph`). A consumer
    /// of the event's group picks the request up within seconds; an event that fails
    /// again is parked again with the new error.
    Replay {
        #[arg(long, conflicts_with = "all")]
        id: Option<Uuid>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        subgraph: Option<String>,
    },
}

pub async fn run(config: Config, action: Action) -> Result<()> {
    let (subgraph, replay) = match &action {
        Action::List { subgraph } => (subgraph, None),
        Action::Replay { id, all, subgraph } => {
            if id.is_none() && !all {
                bail!("say which: --id <parked event id> or --all");
            }
            (subgraph, Some(*id))
        }
    };
    let subgraphs: Vec<Subgraph> = match subgraph {
        Some(name) => match Subgraph::from_name(name) {
            Some(one) => vec![one],
            None => bail!("unknown subgraph {name:?}"),
        },
        None => Subgraph::ALL.to_vec(),
    };
    let mut marked = 0;
    for subgraph in subgraphs {
        let db = echostream_ports::db::connect(&config, subgraph).await?;
        match replay {
            None => {
                for row in dead_letters::list(&db, None).await? {
                    let line = serde_json::json!({
                        "subgraph": subgraph.name(), "id": row.id, "consumer": row.consumer,
                        "topic": row.topic, "partition": row.partition, "offset": row.offset,
                        "attempts": row.attempts, "parkedAt": row.parked_at,
                        "replayRequestedAt": row.replay_requested_at, "error": row.error,
                        "event": row.event,
                    });
                    println!("{line}");
                }
            }
            Some(id) => marked += dead_letters::request_replay(&db, id).await?,
        }
    }
    if replay.is_some() {
        println!("{marked} parked event(s) marked for replay");
    }
    Ok(())
}
