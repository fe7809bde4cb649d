/** Limit server: a bare Fastify hello-world (default options, no logger), in its own process. */
import Fastify from 'fastify';
import { serveLimit } from './limit-server.ts';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await serveLimit(app);
