/**
 * The configuration `gatehouse init` writes: the example of DESIGN.md section 5 with comments, showing all
 * three risk tiers at once. Every capability that adds configuration extends this text, and a test keeps it valid.
 */
export const EXAMPLE_CONFIG = `# Gatehouse configuration. Schema: schema/gatehouse.schema.json (editors autocomplete with it).
# Everything not listed here is denied: unknown tools, unknown agents, ungranted actions.
version: 1

server:
  host: 127.0.0.1          # the gateway listens on loopback only unless you change this
  port: 7878
  body_limit: 1MiB         # larger request bodies are refused with 413

# Roles carry grants; an agent gets the grants of its roles and of every role they inherit.
roles:
  reader:
    grants:
      - tools: ["fs.read", "web.fetch"]
        resources: ["workspace/**"]
  assistant:
    inherits: [reader]
    grants:
      - tools: ["email.send"]
        when: "context.hour >= 8 && context.hour < 20"   # CEL, checked when the policy loads

# The tool catalogue. risk: low runs; medium runs and is flagged in the audit log;
# high waits for a human approval bound to the exact arguments.
tools:
  fs.read:
    risk: low
    description: Read a file inside the workspace
  web.fetch:
    risk: medium
    description: Fetch a web page
    output: untrusted      # results are screened for injected instructions
  email.send:
    risk: high
    description: Send an email
    sink: external
  shell.exec:
    risk: high
    description: Run a shell command in the sandbox
    sandbox: default
    args:
      command:
        deny: ["rm -rf /", "curl * | sh"]

# Prompt-injection screening: scores are 0-10; block at 4 or more, ask for review at 2 or more.
screening:
  block_at: 4
  review_at: 2

# Output filtering: secrets are always redacted; these PII kinds too; links only to these domains.
redaction:
  secrets: true
  pii: [email, credit_card, iban]
  allow_domains: ["github.com"]

# Sandbox profiles for tools that run commands.
sandbox:
  profiles:
    default:
      network: none
      workspace: rw
      memory: 1GiB
      pids: 64
      cpu_seconds: 30
      timeout: 60s
      files: 256

limits:
  per_agent:
    tool_calls_per_minute: 120
`;
