import { Meteor } from "meteor/meteor";
import { Mongo } from "meteor/mongo";
import { migrate } from "./migrations";

export const Todos = new Mongo.Collection("todos");

// `node main.js --migrate-only` (apps[].migrate.command) runs the migrations and exits: the
// platform runs it once per image, before the new version takes traffic.
if (process.argv.includes("--migrate-only")) {
  Meteor.startup(async () => {
    await migrate();
    process.exit(0);
  });
}
