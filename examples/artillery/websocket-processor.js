// Functions for websocket.yml. Artillery's ws engine (2.0.21) counts messages but records no
// latency, so each step here sends one message on the scenario's own connection (`context.ws`),
// waits for the echo carrying the same id, and emits the round trip as the custom histogram
// `websocket.message_latency` in milliseconds. The functions are async: the engine then awaits
// them and a rejected promise fails the virtual user (errors.<message> in the report).
'use strict';

const TIMEOUT_MS = 5000;
let sequence = 0;

function roundTrip(context, events, message) {
  const ws = context.ws;
  const id = `${process.pid}-${++sequence}`;
  const payload = JSON.stringify({ ...message, id, sentAt: Date.now() });
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const stop = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error('websocket message timeout'));
    }, TIMEOUT_MS);
    function onMessage(data) {
      let reply;
      try {
        reply = JSON.parse(data.toString());
      } catch (e) {
        return;
      }
      if (!reply || reply.id !== id) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      stop();
      events.emit('counter', 'websocket.messages_received', 1);
      events.emit('histogram', 'websocket.message_latency', ms);
      resolve();
    }
    ws.on('message', onMessage);
    ws.send(payload, (err) => {
      if (err) {
        stop();
        reject(err);
      }
    });
    events.emit('counter', 'websocket.messages_sent', 1);
    events.emit('rate', 'websocket.send_rate');
  });
}

async function joinRoom(context, events) {
  context.vars.room = `meeting-${1 + Math.floor(Math.random() * 50)}`;
  await roundTrip(context, events, { type: 'join', room: context.vars.room });
}

async function sendMessage(context, events) {
  await roundTrip(context, events, {
    type: 'chat',
    room: context.vars.room,
    text: `note ${Math.floor(Math.random() * 1000)}: action items look good`,
  });
}

async function leaveRoom(context, events) {
  await roundTrip(context, events, { type: 'leave', room: context.vars.room });
}

module.exports = { joinRoom, sendMessage, leaveRoom };
