// Browser side of the cluster e2e test: real peerjs peers on DIFFERENT peer-signal instances, deadline-bounded waits.
// The driver calls window.e2e.run(name, targets), targets being one {host, port, path, key} per instance.
(() => {
  'use strict';

  const WAIT_MS = 8000;
  const { Peer } = window.peerjs;

  const created = [];

  const uniqueId = (prefix) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

  function describeError(error) {
    if (error === null || typeof error !== 'object') return { type: undefined, message: String(error) };
    return { type: error.type, message: error.message };
  }

  function describeData(data) {
    if (typeof data === 'string') return { kind: 'string', value: data };
    if (data instanceof ArrayBuffer) return { kind: 'ArrayBuffer', bytes: Array.from(new Uint8Array(data)) };
    if (ArrayBuffer.isView(data)) {
      return { kind: data.constructor.name, bytes: Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
    }
    return { kind: Object.prototype.toString.call(data), value: String(data) };
  }

  /** A peer on `target` whose every event lands in `log`, so a failed wait can say what did happen. */
  function createPeer(label, id, target) {
    const peer = new Peer(id, {
      host: target.host,
      port: target.port,
      path: target.path,
      key: target.key,
      debug: 2,
      logFunction: (level, ...args) => console.log(`peerjs[${label}/${level}] ${args.map(String).join(' ')}`),
      // No STUN/TURN: host candidates on loopback are all this needs, and nothing may leave the machine.
      config: { iceServers: [] },
    });
    const log = [];
    peer.on('open', (openId) => log.push(`open(${openId})`));
    peer.on('error', (error) => log.push(`error(${error.type}: ${error.message})`));
    peer.on('disconnected', (lastId) => log.push(`disconnected(${lastId})`));
    peer.on('close', () => log.push('close'));
    peer.on('connection', (connection) => log.push(`connection(from ${connection.peer})`));
    const entry = { label, peer, log, port: target.port };
    created.push(entry);
    return entry;
  }

  function history() {
    return created.map(({ label, port, log }) => `${label}@${port}: [${log.join(', ')}]`).join('; ');
  }

  /** Resolves with the first argument of `event`; rejects at the deadline or on an earlier `error`. */
  function waitFor(emitter, event, what, timeoutMs = WAIT_MS) {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        emitter.off(event, onEvent);
        emitter.off('error', onError);
      };
      const onEvent = (value) => {
        done();
        resolve(value);
      };
      const onError = (error) => {
        done();
        const { type, message } = describeError(error);
        reject(new Error(`${what}: got error (${type}: ${message}) while waiting for "${event}"; events: ${history()}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: no "${event}" within ${timeoutMs} ms; events: ${history()}`));
      }, timeoutMs);
      emitter.on(event, onEvent);
      if (event !== 'error') emitter.on('error', onError);
    });
  }

  /** Resolves with the first `count` messages a DataConnection receives. */
  function collectData(connection, count, what, timeoutMs = WAIT_MS) {
    return new Promise((resolve, reject) => {
      const received = [];
      const done = () => {
        clearTimeout(timer);
        connection.off('data', onData);
        connection.off('error', onError);
        connection.off('close', onClose);
      };
      const fail = (reason) => {
        done();
        reject(new Error(`${what}: ${reason} after ${received.length}/${count} messages ${JSON.stringify(received)}; events: ${history()}`));
      };
      const onData = (data) => {
        received.push(describeData(data));
        if (received.length === count) {
          done();
          resolve(received);
        }
      };
      const onError = (error) => fail(`connection error (${error.type}: ${error.message})`);
      const onClose = () => fail('connection closed');
      const timer = setTimeout(() => fail(`timed out (${timeoutMs} ms)`), timeoutMs);
      connection.on('data', onData);
      connection.on('error', onError);
      connection.on('close', onClose);
    });
  }

  /** The local address of the ICE candidate pair the connection settled on. */
  async function selectedLocalAddress(peerConnection) {
    const stats = await peerConnection.getStats();
    let pair;
    stats.forEach((report) => {
      if (report.type === 'transport' && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
    });
    if (pair === undefined) {
      stats.forEach((report) => {
        if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') pair = report;
      });
    }
    const local = pair && stats.get(pair.localCandidateId);
    return local ? { address: local.address ?? local.ip, candidateType: local.candidateType } : null;
  }

  async function openPeer(label, id, target) {
    const entry = createPeer(label, id, target);
    await waitFor(entry.peer, 'open', `peer ${label} opening on port ${target.port}`);
    return entry;
  }

  const scenarios = {
    /** a on the first instance, b on the second: a DataConnection from a to b, data both ways. */
    async 'cross-instance-data-connection'([first, second]) {
      const a = await openPeer('a', uniqueId('a'), first);
      const b = await openPeer('b', uniqueId('b'), second);
      const incoming = waitFor(b.peer, 'connection', 'peer b receiving the connection from a');
      const outgoing = a.peer.connect(b.peer.id);
      const accepted = await incoming;
      await Promise.all([
        waitFor(outgoing, 'open', 'connection a->b opening at a'),
        waitFor(accepted, 'open', 'connection a->b opening at b'),
      ]);
      const atA = collectData(outgoing, 2, 'peer a receiving from b');
      const atB = collectData(accepted, 2, 'peer b receiving from a');
      outgoing.send('hello from a');
      outgoing.send(new Uint8Array([0, 1, 2, 255]).buffer);
      accepted.send('hello from b');
      accepted.send(new Uint8Array([9, 8, 7]).buffer);
      const [receivedByA, receivedByB] = await Promise.all([atA, atB]);
      return {
        a: a.peer.id,
        b: b.peer.id,
        aPort: first.port,
        bPort: second.port,
        outgoingPeer: outgoing.peer,
        acceptedPeer: accepted.peer,
        receivedByA,
        receivedByB,
        routeA: await selectedLocalAddress(outgoing.peerConnection),
        routeB: await selectedLocalAddress(accepted.peerConnection),
      };
    },

    /** The same id on the second instance while the first holds it: unavailable-id, the first stays open. */
    async 'cross-instance-unavailable-id'([first, second]) {
      const id = uniqueId('taken');
      const holder = await openPeer('holder', id, first);
      const intruder = createPeer('intruder', id, second);
      const error = describeError(await waitFor(intruder.peer, 'error', `second peer claiming ${id} on another instance`));
      return {
        id,
        error,
        intruderLog: intruder.log,
        intruderDestroyed: intruder.peer.destroyed,
        holderOpen: holder.peer.open,
        holderDisconnected: holder.peer.disconnected,
      };
    },
  };

  window.e2e = {
    names: Object.keys(scenarios),
    async run(name, targets) {
      const scenario = scenarios[name];
      if (scenario === undefined) throw new Error(`unknown scenario "${name}"; known: ${Object.keys(scenarios).join(', ')}`);
      try {
        return await scenario(targets);
      } finally {
        for (const { peer } of created) peer.destroy();
      }
    },
  };
})();
