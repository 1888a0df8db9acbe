//! Cluster administration: a single-node [`Client`] and the leader-routed [`Cluster`] handle,
//! which also opens databases ([`Cluster::open`]).

use std::sync::Arc;
use std::time::Instant;

use dqlite_proto::{File, NodeInfo, Role};

use crate::connection::Connection;
use crate::connector::Connector;
use crate::db::Db;
use crate::error::Result;
use crate::ops::NodeMetadata;
use crate::outcome::{judge, Kind};
use crate::pool::Pool;
use crate::retry::{retry_delay, Backoff};
use crate::store::{InMemoryNodeStore, NodeStore};
use crate::Config;

/// A connection to one node for administration, like go-dqlite's `client.Client`. Requests
/// that need the leader fail with a not-leader error on other nodes.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
}

impl Client {
    /// Connects to `addr` (any node, leader or not).
    pub async fn connect(addr: &str, config: &Config) -> Result<Client> {
        Ok(Client {
            conn: Connection::connect(addr, config).await?,
        })
    }

    /// The node's address.
    pub fn node(&self) -> &str {
        self.conn.node()
    }

    /// The leader this node knows of; `None` while it knows none (or is not a voter).
    pub async fn leader(&mut self) -> Result<Option<NodeInfo>> {
        let (id, address) = self.conn.leader().await?;
        Ok((!address.is_empty()).then_some(NodeInfo {
            id,
            address,
            role: None,
        }))
    }

    /// The node's view of the cluster configuration, with roles.
    pub async fn cluster(&mut self) -> Result<Vec<NodeInfo>> {
        self.conn.cluster().await
    }

    /// Adds a node: ADD (as spare), then ASSIGN its role unless it is a spare, as go-dqlite
    /// does. A missing role means voter.
    pub async fn add(&mut self, node: &NodeInfo) -> Result<()> {
        self.conn.add(node.id, &node.address).await?;
        match node.role.unwrap_or(Role::Voter) {
            Role::Spare => Ok(()),
            role => self.conn.assign(node.id, role).await,
        }
    }

    /// Changes a node's role.
    pub async fn assign(&mut self, id: u64, role: Role) -> Result<()> {
        self.conn.assign(id, role).await
    }

    /// Removes a node.
    pub async fn remove(&mut self, id: u64) -> Result<()> {
        self.conn.remove(id).await
    }

    /// Transfers leadership to `id` (0 lets the server choose).
    pub async fn transfer(&mut self, id: u64) -> Result<()> {
        self.conn.transfer(id).await
    }

    /// This node's failure domain and weight.
    pub async fn describe(&mut self) -> Result<NodeMetadata> {
        self.conn.describe().await
    }

    /// Sets this node's weight (node-local, not replicated).
    pub async fn set_weight(&mut self, weight: u64) -> Result<()> {
        self.conn.set_weight(weight).await
    }

    /// This node's copy of database `name`: the main file and the WAL.
    pub async fn dump(&mut self, name: &str) -> Result<Vec<File>> {
        self.conn.dump(name).await
    }
}

/// A cluster reached through a node store: finds the leader, routes administration to it,
/// and opens databases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cluster {
    connector: Connector,
}

impl Cluster {
    /// A cluster whose nodes are listed in `store`.
    pub fn new(store: impl NodeStore, config: Config) -> Result<Cluster> {
        config.validate()?;
        Ok(Cluster {
            connector: Connector::new(Arc::new(store), Arc::new(config)),
        })
    }

    /// A cluster reached through these seed addresses.
    pub fn from_addresses<S: Into<String>>(
        addrs: impl IntoIterator<Item = S>,
        config: Config,
    ) -> Result<Cluster> {
        Cluster::new(InMemoryNodeStore::from_addresses(addrs), config)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        self.connector.config()
    }

    /// Opens database `name` (created on first use) behind a connection pool.
    pub fn open(&self, name: &str) -> Db {
        Db {
            pool: Pool::new(self.connector.clone(), name),
        }
    }

    /// A registered connection to the current leader.
    pub async fn leader(&self) -> Result<Client> {
        Ok(Client {
            conn: self.connector.connect().await?,
        })
    }

    /// The current leader's address.
    pub async fn leader_address(&self) -> Result<String> {
        Ok(self.leader().await?.node().to_owned())
    }

    /// Runs `op` on the leader, finding it again while the request certainly did not run.
    async fn on_leader(&self, op: Admin<'_>) -> Result<AdminOutput> {
        let config = self.connector.config();
        let deadline = Instant::now() + config.retry_budget;
        let mut backoff = Backoff::new(config);
        loop {
            let mut client = Client {
                conn: self.connector.connect_until(deadline).await?,
            };
            let err = match op.run(&mut client).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if err.shows_leader_change() {
                self.connector.forget_leader(client.node());
            }
            let (err, action) = judge(err, op.kind(), true);
            let Some(delay) = retry_delay(action, &mut backoff, deadline) else {
                return Err(err);
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// The cluster configuration as the leader sees it.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>> {
        match self.on_leader(Admin::Nodes).await? {
            AdminOutput::Nodes(nodes) => Ok(nodes),
            _ => Ok(Vec::new()),
        }
    }

    /// Adds a node (ADD, then ASSIGN unless it is a spare) through the leader.
    pub async fn add(&self, node: &NodeInfo) -> Result<()> {
        self.on_leader(Admin::Add(node)).await.map(drop)
    }

    /// Changes a node's role through the leader.
    pub async fn assign(&self, id: u64, role: Role) -> Result<()> {
        self.on_leader(Admin::Assign(id, role)).await.map(drop)
    }

    /// Removes a node through the leader.
    pub async fn remove(&self, id: u64) -> Result<()> {
        self.on_leader(Admin::Remove(id)).await.map(drop)
    }

    /// Transfers leadership away from the current leader to `id` (0: the server picks).
    pub async fn transfer(&self, id: u64) -> Result<()> {
        self.on_leader(Admin::Transfer(id)).await.map(drop)
    }

    /// The leader's copy of database `name`.
    pub async fn dump(&self, name: &str) -> Result<Vec<File>> {
        match self.on_leader(Admin::Dump(name)).await? {
            AdminOutput::Files(files) => Ok(files),
            _ => Ok(Vec::new()),
        }
    }

    /// Failure domain and weight of the node at `addr`.
    pub async fn describe(&self, addr: &str) -> Result<NodeMetadata> {
        Client::connect(addr, self.config()).await?.describe().await
    }

    /// Sets the weight of the node at `addr`.
    pub async fn set_weight(&self, addr: &str, weight: u64) -> Result<()> {
        Client::connect(addr, self.config())
            .await?
            .set_weight(weight)
            .await
    }
}

/// An administrative request routed to the leader.
#[derive(Debug, Clone, Copy)]
enum Admin<'a> {
    Nodes,
    Add(&'a NodeInfo),
    Assign(u64, Role),
    Remove(u64),
    Transfer(u64),
    Dump(&'a str),
}

#[derive(Debug)]
enum AdminOutput {
    Nodes(Vec<NodeInfo>),
    Files(Vec<File>),
    Done,
}

impl Admin<'_> {
    fn kind(&self) -> Kind {
        match self {
            Admin::Nodes | Admin::Dump(_) => Kind::Read,
            _ => Kind::Write,
        }
    }

    async fn run(&self, c: &mut Client) -> Result<AdminOutput> {
        Ok(match *self {
            Admin::Nodes => AdminOutput::Nodes(c.cluster().await?),
            Admin::Add(node) => c.add(node).await.map(|()| AdminOutput::Done)?,
            Admin::Assign(id, role) => c.assign(id, role).await.map(|()| AdminOutput::Done)?,
            Admin::Remove(id) => c.remove(id).await.map(|()| AdminOutput::Done)?,
            Admin::Transfer(id) => c.transfer(id).await.map(|()| AdminOutput::Done)?,
            Admin::Dump(name) => AdminOutput::Files(c.dump(name).await?),
        })
    }
}
