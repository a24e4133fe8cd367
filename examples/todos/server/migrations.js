import { Mongo } from "meteor/mongo";

const Versions = new Mongo.Collection("schema_versions");

// Each migration runs once, in order; the latest applied version is recorded in MongoDB.
const MIGRATIONS = [
  { version: 1, up: async () => Mongo.Collection.get?.("todos")?.createIndexAsync?.({ createdAt: -1 }) },
];

export async function migrate() {
  const current = (await Versions.findOneAsync({ _id: "todos" }))?.version ?? 0;
  for (const { version, up } of MIGRATIONS) {
    if (version > current) {
      await up();
      await Versions.upsertAsync({ _id: "todos" }, { $set: { version } });
    }
  }
}
