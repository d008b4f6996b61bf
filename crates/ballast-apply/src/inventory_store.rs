//! Where the one-shot `sync` keeps its inventory: a ConfigMap named after the sync.

use ballast_core::{Inventory, ObjectRef};
use ballast_kube::{Cluster, KubeError};
use serde_json::{Value, json};

/// An inventory as stored, with the revision it was last applied from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredInventory {
    /// Owned objects.
    pub inventory: Inventory,
    /// Revision of the last successful apply, if any.
    pub revision: Option<String>,
}

/// A ConfigMap `ballast-inventory-<name>` in a chosen namespace, holding the inventory as JSON
/// (`{"entries": [{"id": "<ns>_<name>_<group>_<kind>", "v": "<version>"}]}`).
pub struct InventoryStore<'a> {
    cluster: &'a Cluster,
    object: ObjectRef,
}

impl<'a> InventoryStore<'a> {
    /// The store for sync `name`, kept in `namespace`.
    pub fn new(cluster: &'a Cluster, name: &str, namespace: &str) -> Self {
        InventoryStore {
            cluster,
            object: ObjectRef::new("v1", "ConfigMap", Some(namespace), &format!("ballast-inventory-{name}")),
        }
    }

    /// The ConfigMap's identity.
    pub fn object(&self) -> &ObjectRef {
        &self.object
    }

    /// Reads the inventory; an absent ConfigMap is an empty inventory.
    pub async fn load(&self) -> Result<StoredInventory, KubeError> {
        let Some(cm) = self.cluster.get(&self.object).await? else {
            return Ok(StoredInventory::default());
        };
        let text = cm.pointer("/data/inventory").and_then(Value::as_str).unwrap_or("{}");
        let inventory: Inventory = serde_json::from_str(text).map_err(|e| KubeError::Transport {
            object: self.object.to_string(),
            verb: "read inventory",
            message: e.to_string(),
        })?;
        let revision = cm.pointer("/data/revision").and_then(Value::as_str).map(str::to_string);
        Ok(StoredInventory { inventory, revision })
    }

    /// Writes the inventory (server-side apply; no write when it equals `loaded`, what
    /// [`InventoryStore::load`] returned before this sync). Creates the namespace if it does not
    /// exist.
    pub async fn save(&self, loaded: &StoredInventory, stored: &StoredInventory) -> Result<(), KubeError> {
        if loaded == stored {
            return Ok(());
        }
        let ns = self.object.namespace.clone().unwrap_or_default();
        let ns_ref = ObjectRef::new("v1", "Namespace", None, &ns);
        if self.cluster.get(&ns_ref).await?.is_none() {
            self.cluster
                .apply(
                    &ns_ref,
                    &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                    false,
                    false,
                )
                .await?;
        }
        let mut data = json!({"inventory": serde_json::to_string(&stored.inventory).unwrap_or_default()});
        if let Some(rev) = &stored.revision {
            data["revision"] = Value::String(rev.clone());
        }
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": self.object.name, "namespace": ns,
                         "labels": {"app.kubernetes.io/managed-by": "ballast"}},
            "data": data,
        });
        self.cluster.apply(&self.object, &cm, false, true).await.map(|_| ())
    }
}
