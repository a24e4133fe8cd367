import { Meteor } from "meteor/meteor";

Meteor.startup(() => {
  document.body.textContent = "todos";
});
