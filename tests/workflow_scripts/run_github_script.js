// Runs one `actions/github-script` script the way the action does (an async function of `require`,
// `github`, `context` and `core`), against a recorded scenario instead of GitHub, and prints what it
// did as JSON: the API calls it made, the failure it reported, its notices.
// Usage: node run_github_script.js <script file> <scenario.json>   (run in the artifact's directory)
"use strict";
const fs = require("fs");

async function main() {
  const script = fs.readFileSync(process.argv[2], "utf8");
  const scenario = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
  const out = { calls: [], failed: null, notices: [] };
  const call = (name, answer) => async (params) => {
    out.calls.push([name, params]);
    return { data: answer };
  };
  const github = {
    rest: {
      pulls: { list: call("pulls.list", scenario.pulls || []) },
      issues: {
        listComments: call("issues.listComments", scenario.comments || []),
        listForRepo: call("issues.listForRepo", scenario.issues || []),
        create: call("issues.create", {}),
        update: call("issues.update", {}),
        createComment: call("issues.createComment", {}),
        updateComment: call("issues.updateComment", {}),
      },
    },
    paginate: async (method, params) => (await method(params)).data,
  };
  const core = {
    setFailed: (message) => { out.failed = String(message); },
    notice: (message) => { out.notices.push(String(message)); },
  };
  const context = { repo: scenario.repo, payload: scenario.payload };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  await new AsyncFunction("require", "github", "context", "core", script)(require, github, context, core);
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
