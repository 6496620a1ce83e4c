// Fail when src/api/schema.d.ts is not what openapi-typescript makes of the
// committed docs/openapi.yaml (the contract changed without `npm run api`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "stx-api-"));
try {
  const fresh = join(scratch, "schema.d.ts");
  execFileSync(join(web, "node_modules", ".bin", "openapi-typescript"), [join(web, "..", "docs", "openapi.yaml"), "-o", fresh], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (readFileSync(fresh, "utf8") !== readFileSync(join(web, "src", "api", "schema.d.ts"), "utf8")) {
    console.error("web/src/api/schema.d.ts is stale: run `cd web && npm run api` and commit it");
    process.exit(1);
  }
  console.log("web/src/api/schema.d.ts matches docs/openapi.yaml");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
