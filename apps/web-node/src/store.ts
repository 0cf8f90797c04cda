/**
 * The node's durable state in IndexedDB, one database per coordinator key: its identity and its
 * accountant. A write resolves only when its transaction is complete with strict durability, so
 * "persisted before the update leaves" holds here as it does for the CLI node's fsync'd file.
 */
import type { AccountantStore } from "@memarc/federation";

const STORE = "state";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export async function openNodeDatabase(name: string): Promise<IDBDatabase> {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return request(open);
}

export async function readValue<T>(db: IDBDatabase, key: string): Promise<T | undefined> {
  return (await request(db.transaction(STORE, "readonly").objectStore(STORE).get(key))) as T | undefined;
}

export function writeValue(db: IDBDatabase, key: string, value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    tx.objectStore(STORE).put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

export function deleteValue(db: IDBDatabase, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    tx.objectStore(STORE).delete(key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

/** The node's accountant in `db` (key "accountant"), for NodeRunner. */
export function indexedDbAccountantStore(db: IDBDatabase): AccountantStore {
  return {
    where: `IndexedDB ${db.name}`,
    async load() {
      return (await readValue<string>(db, "accountant")) ?? null;
    },
    save: (json) => writeValue(db, "accountant", json),
  };
}

/** The database name for a coordinator: state is per run, keyed by the coordinator's public key. */
export function databaseFor(coordinatorKey: string): string {
  return `memarc-node:${coordinatorKey}`;
}
