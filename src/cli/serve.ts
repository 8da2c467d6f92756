/** `serve`: the local dashboard (server/server.ts, docs/serve.md). */
import { isLoopback, SERVE_DEFAULTS, startServer } from '../server/server.ts';
import { defineCommand } from './command.ts';
import { int, text } from './options.ts';

export const serveCommand = defineCommand({
  name: 'serve',
  description: `A local web app over the zoos under --root: the zoos (filtered with the search
grammar, sorted, exported as CSV or JSON), each zoo's runs, curves, weight-space plot and
weight statistics, each checkpoint (show, log, lineage, diff, predictions on MNIST and on
an image of your own), identify for an uploaded file, and the family tree. Epochs appear as
they are committed, with no reload. Offline: no request leaves the machine. It binds
127.0.0.1; another --host needs --token, which every request must then carry. Uploads are
kept in a temporary folder outside the root and removed once answered. The JSON endpoints
are in docs/serve.md. Stop it with Ctrl-C.`,
  options: {
    root: text({
      arg: 'DIR',
      help: 'the folder of zoos to serve (or one zoo)',
      default: SERVE_DEFAULTS.root,
    }),
    host: text({ arg: 'HOST', help: 'the interface to listen on', default: SERVE_DEFAULTS.host }),
    port: int({ help: 'the port (0: any free one)', min: 0, max: 65535, default: SERVE_DEFAULTS.port }),
    token: text({
      arg: 'SECRET',
      help: 'a secret every request must carry (required with a --host other than loopback)',
    }),
    'upload-limit': int({
      arg: 'MB',
      help: 'the largest upload, in MB',
      min: 1,
      max: 4096,
      default: SERVE_DEFAULTS.uploadLimit / 2 ** 20,
    }),
    results: text({
      arg: 'DIR',
      help: 'where cluster reports are read from',
      default: SERVE_DEFAULTS.results,
    }),
  },
  examples: [
    'npm run serve',
    'npm run serve -- --root zoo --port 8080',
    'npm run serve -- --host 0.0.0.0 --token "$(openssl rand -hex 16)"',
  ],
  async run(o) {
    if (!isLoopback(o.host))
      process.stderr.write(
        `warning: listening on ${o.host}: other machines can reach this server; requests without the token are refused\n`,
      );
    const server = await startServer({
      root: o.root,
      host: o.host,
      port: o.port,
      token: o.token,
      uploadLimit: o['upload-limit'] * 2 ** 20,
      results: o.results,
      onLog: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`serving ${o.root} at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        void server.close().then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
});
