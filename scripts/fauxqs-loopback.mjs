// Starts the fauxqs SQS emulator on the loopback interface only.
//
// Usage: FAUXQS_PORT=9480 FAUXQS_LOGGER=false node scripts/fauxqs-loopback.mjs <path to fauxqs/dist/app.js>
//
// fauxqs 1.x listens on 0.0.0.0 whatever FAUXQS_HOST says (its startFauxqs() passes host "0.0.0.0" to Fastify's
// listen; FAUXQS_HOST only names the host in the queue URLs it returns). This project's servers listen on 127.0.0.1
// only, so this launcher rewrites the host of every TCP listen in this process to 127.0.0.1 (SWITCHBOARD_LISTEN_HOST
// to choose another loopback address), then starts fauxqs through its exported startFauxqs(). Unlike fauxqs's own
// cli.js, it passes no options, so FAUXQS_LOGGER=false is honoured (cli.js forces the request log on).
import net from "node:net";
import { pathToFileURL } from "node:url";

const loopback = process.env.SWITCHBOARD_LISTEN_HOST ?? "127.0.0.1";
if (!["127.0.0.1", "::1", "localhost"].includes(loopback) && !loopback.startsWith("127.")) {
  console.error(`fauxqs-loopback: ${loopback} is not a loopback address`);
  process.exit(2);
}

const app = process.argv[2];
if (!app) {
  console.error("fauxqs-loopback: give the path of fauxqs/dist/app.js");
  process.exit(2);
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !(first instanceof net.Server) && ("port" in first || "host" in first)) {
    // listen({ port, host, ... }, callback): Fastify's form. A path (a Unix socket) or a handle is left alone.
    if (first.path === undefined && first.handle === undefined && first.fd === undefined) {
      args[0] = { ...first, host: loopback };
    }
  } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, callback])
    if (typeof args[1] === "string") {
      args[1] = loopback;
    } else {
      args.splice(1, 0, loopback);
    }
  }

  return listen.apply(this, args);
};

const { startFauxqs } = await import(pathToFileURL(app).href);
const server = await startFauxqs();
console.log(`fauxqs listening on ${server.address}`);
