// A WebSub subscriber made with npm's pubsubhubbub, for the hub's tests: listens on a port of
// 127.0.0.1, subscribes to a topic at a hub, and prints what happens as one JSON object a
// line; a line "unsubscribe" on standard input unsubscribes.
'use strict';
const readline = require('readline');
const pubSubHubbub = require('pubsubhubbub');

const [port, topic, hub] = process.argv.slice(2);
const subscriber = pubSubHubbub.createServer({ callbackUrl: `http://127.0.0.1:${port}/callback` });
const say = (event, data) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');

subscriber.on('listen', () => {
  say('listening', {});
  subscriber.subscribe(topic, hub, (error) => {
    if (error) say('error', { message: String(error) });
  });
});
subscriber.on('subscribe', (data) => say('subscribe', { topic: data.topic, lease: data.lease }));
subscriber.on('unsubscribe', (data) => say('unsubscribe', { topic: data.topic }));
subscriber.on('denied', (data) => say('denied', { topic: data.topic }));
subscriber.on('error', (error) => say('error', { message: String(error) }));
subscriber.on('feed', (data) =>
  say('feed', {
    topic: data.topic,
    contentType: data.headers['content-type'],
    link: data.headers.link,
    body: data.feed.toString('utf8'),
  })
);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'unsubscribe') {
    subscriber.unsubscribe(topic, hub, (error) => {
      if (error) say('error', { message: String(error) });
    });
  }
});
subscriber.listen(Number(port), '127.0.0.1');
