// Browser side of the e2e tests: real peerjs peers that log their events, deadline-bounded waits, and the scenarios.
// The driver calls window.e2e.run(name, server); each scenario resolves with what it observed, or rejects with
// a message that says what it was waiting for and what had happened so far.
(() => {
  'use strict';

  /** Longest a single wait may take; the server's expire timeout (for peer-unavailable) is well under it. */
  const WAIT_MS = 8000;
  const { Peer } = window.peerjs;

  let server;
  const created = [];
  /** Everything peerjs logs (errors and warnings at debug: 2), e.g. the HTTP status behind a failed id request. */
  const clientLog = [];

  function logFunction(level, ...args) {
    const text = args
      .map((arg) => {
        if (arg instanceof Error) return `(${arg.name}) ${arg.message}`;
        if (typeof arg === 'string') return arg;
        try {
          return JSON.stringify(arg);
        } catch {
          return String(arg);
        }
      })
      .join(' ');
    clientLog.push(text);
    console.log(`peerjs[${level}] ${text}`);
  }

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

  /** A peer whose every event lands in `log`, so a failed wait can say what did happen. */
  function createPeer(label, id, options = {}) {
    const merged = {
      host: server.host,
      port: server.port,
      path: server.path,
      key: server.key,
      debug: 2,
      logFunction,
      // No STUN/TURN: host candidates on loopback are all these tests need, and nothing may leave the machine.
      config: { iceServers: [] },
      ...options,
    };
    const peer = id === undefined ? new Peer(merged) : new Peer(id, merged);
    const log = [];
    peer.on('open', (openId) => log.push(`open(${openId})`));
    peer.on('error', (error) => log.push(`error(${error.type}: ${error.message})`));
    peer.on('disconnected', (lastId) => log.push(`disconnected(${lastId})`));
    peer.on('close', () => log.push('close'));
    peer.on('connection', (connection) => log.push(`connection(from ${connection.peer})`));
    const entry = { label, peer, log };
    created.push(entry);
    return entry;
  }

  function history() {
    return created.map(({ label, log }) => `${label}: [${log.join(', ')}]`).join('; ');
  }

  /**
   * Resolves with the first argument of `event` on `emitter`. Rejects at the deadline, or at once when the
   * emitter reports an `error` first (unless that is what we wait for), naming the wait and the events so far.
   */
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

  /** Resolves with the first `count` messages a DataConnection receives, described as {kind, value|bytes}. */
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

  /** The ICE candidate pair the connection settled on: proof of which addresses the media/data path used. */
  async function selectedRoute(peerConnection) {
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
    if (pair === undefined) return null;
    const candidate = (id) => {
      const report = stats.get(id);
      return report && {
        address: report.address ?? report.ip,
        port: report.port,
        protocol: report.protocol,
        candidateType: report.candidateType,
      };
    };
    return { local: candidate(pair.localCandidateId), remote: candidate(pair.remoteCandidateId) };
  }

  async function openPeer(label, id, options) {
    const entry = createPeer(label, id, options);
    await waitFor(entry.peer, 'open', `peer ${label} opening`);
    return entry;
  }

  /** Opens a DataConnection from `from` to `to` and resolves once both ends are open. */
  async function connectPair(from, to, options) {
    const incoming = waitFor(to.peer, 'connection', `peer ${to.label} receiving the connection from ${from.label}`);
    const outgoing = from.peer.connect(to.peer.id, options);
    const accepted = await incoming;
    await Promise.all([
      waitFor(outgoing, 'open', `connection ${from.label}->${to.label} opening at ${from.label}`),
      waitFor(accepted, 'open', `connection ${from.label}->${to.label} opening at ${to.label}`),
    ]);
    return { outgoing, accepted };
  }

  const scenarios = {
    async 'data-connection'() {
      const a = await openPeer('a', uniqueId('a'));
      const b = await openPeer('b', uniqueId('b'));
      const { outgoing, accepted } = await connectPair(a, b);
      const atA = collectData(outgoing, 3, 'peer a receiving from b');
      const atB = collectData(accepted, 3, 'peer b receiving from a');
      outgoing.send('hello from a');
      outgoing.send(new Uint8Array([0, 1, 2, 127, 128, 255]).buffer);
      outgoing.send(new Uint8Array([10, 20, 30]));
      // b answers once a's messages have arrived: Chromium now and then loses a send the accepting side
      // makes right at its 'open' (about 1 in 60 under load, measured in the data channel's own stats;
      // the signaling server is not on that path), which is not what this scenario is about.
      const receivedByB = await atB;
      accepted.send('hello from b');
      accepted.send(new Uint8Array([255, 254, 0]).buffer);
      accepted.send(new Uint8Array([1, 2, 3, 4]));
      const receivedByA = await atA;
      return {
        a: a.peer.id,
        b: b.peer.id,
        outgoingPeer: outgoing.peer,
        acceptedPeer: accepted.peer,
        serialization: outgoing.serialization,
        receivedByA,
        receivedByB,
        route: await selectedRoute(outgoing.peerConnection),
        acceptedRoute: await selectedRoute(accepted.peerConnection),
      };
    },

    async 'server-assigned-id'() {
      const a = createPeer('a', undefined);
      const openedWith = await waitFor(a.peer, 'open', 'peer without an id opening');
      const idRequests = performance
        .getEntriesByType('resource')
        .map((entry) => new URL(entry.name))
        .filter((url) => url.pathname.endsWith('/id'))
        .map((url) => `${url.origin}${url.pathname}`);
      return { openedWith, peerId: a.peer.id, idRequests };
    },

    async 'peer-unavailable'() {
      const a = await openPeer('a', uniqueId('a'));
      const missing = uniqueId('nobody');
      const failed = waitFor(a.peer, 'error', `peer a connecting to the unknown id ${missing}`);
      a.peer.connect(missing);
      const error = describeError(await failed);
      return { missing, error, open: a.peer.open, disconnected: a.peer.disconnected, destroyed: a.peer.destroyed };
    },

    async 'unavailable-id'() {
      const id = uniqueId('taken');
      const first = await openPeer('first', id);
      const second = createPeer('second', id);
      const error = describeError(await waitFor(second.peer, 'error', `second peer claiming ${id}`));
      return {
        id,
        error,
        secondLog: second.log,
        secondDestroyed: second.peer.destroyed,
        firstOpen: first.peer.open,
        firstDisconnected: first.peer.disconnected,
      };
    },

    async 'invalid-key'() {
      const withId = createPeer('with-id', uniqueId('key'), { key: 'wrong-key' });
      const withIdError = describeError(await waitFor(withId.peer, 'error', 'peer with an id and a wrong key'));
      const withoutId = createPeer('without-id', undefined, { key: 'wrong-key' });
      const withoutIdError = describeError(await waitFor(withoutId.peer, 'error', 'peer without an id and with a wrong key'));
      return {
        withId: { error: withIdError, log: withId.log, destroyed: withId.peer.destroyed },
        withoutId: {
          error: withoutIdError,
          log: withoutId.log,
          destroyed: withoutId.peer.destroyed,
          idFailures: clientLog.filter((line) => line.startsWith('Error retrieving ID')),
        },
      };
    },

    async reconnect() {
      const id = uniqueId('again');
      const a = createPeer('a', id);
      const firstOpen = await waitFor(a.peer, 'open', 'peer a opening');
      const disconnected = waitFor(a.peer, 'disconnected', 'peer a disconnecting');
      a.peer.disconnect();
      const disconnectedId = await disconnected;
      const afterDisconnect = { open: a.peer.open, disconnected: a.peer.disconnected, destroyed: a.peer.destroyed };
      const reopened = waitFor(a.peer, 'open', 'peer a reconnecting');
      a.peer.reconnect();
      const secondOpen = await reopened;
      const afterReconnect = { id: a.peer.id, open: a.peer.open, disconnected: a.peer.disconnected };
      // The server must route to the new socket: another peer can reach the reconnected id.
      const b = await openPeer('b', uniqueId('b'));
      const { outgoing, accepted } = await connectPair(b, a);
      const received = collectData(accepted, 1, 'peer a receiving from b after reconnecting');
      outgoing.send('after reconnect');
      return { id, firstOpen, disconnectedId, afterDisconnect, secondOpen, afterReconnect, receivedAfterReconnect: await received };
    },

    // The fault scenarios (browser-faults-driver.mjs) ask the driver, through window.e2eDriver(action, argument),
    // to act on the server from outside the page: kick a peer with the CLI, set or clear faults with the admin route.

    async 'kick-reconnect'() {
      const id = uniqueId('kicked');
      const a = await openPeer('a', id);
      // peerjs reports a lost server as a network error, then emits disconnected at once.
      const lost = waitFor(a.peer, 'error', 'peer a losing the server after the kick');
      const kick = await window.e2eDriver('kick', id);
      if (kick.code !== 0) throw new Error(`peer-signal kick ${id} exited with ${kick.code}: ${kick.stderr}; events: ${history()}`);
      const error = describeError(await lost);
      const afterKick = { open: a.peer.open, disconnected: a.peer.disconnected, destroyed: a.peer.destroyed, log: [...a.log] };
      const reopened = waitFor(a.peer, 'open', 'peer a reconnecting after the kick');
      a.peer.reconnect();
      const secondOpen = await reopened;
      const b = await openPeer('b', uniqueId('b'));
      const { outgoing, accepted } = await connectPair(a, b);
      // b answers once a's message is in: in Chromium, an answerer's send right at its 'open' is now and then lost
      // (its RTCDataChannel stats count one message fewer than were sent), which is not what this scenario is about.
      const atB = collectData(accepted, 1, 'peer b receiving from a after the kick');
      outgoing.send('from a after the kick');
      const receivedByB = await atB;
      const atA = collectData(outgoing, 1, 'peer a receiving from b after the kick');
      accepted.send('from b after the kick');
      const receivedByA = await atA;
      const afterReconnect = { id: a.peer.id, open: a.peer.open };
      return { id, kick, error, afterKick, secondOpen, afterReconnect, b: b.peer.id, receivedByA, receivedByB };
    },

    async 'delayed-offer'() {
      const delayMs = 1500;
      const a = await openPeer('a', uniqueId('a'));
      const b = await openPeer('b', uniqueId('b'));
      /** Milliseconds from connect() to the connection's open at the offerer (the DataConnection is ready then). */
      const timeOpen = async (what, timeoutMs) => {
        const started = performance.now();
        const connection = a.peer.connect(b.peer.id);
        await waitFor(connection, 'open', what, timeoutMs);
        return Math.round(performance.now() - started);
      };
      const baselineMs = await timeOpen('connection a->b opening without faults');
      const faultsSet = await window.e2eDriver('set-faults', { delayMs: { OFFER: delayMs } });
      if (faultsSet.status !== 200) throw new Error(`PUT admin/faults answered ${faultsSet.status}: ${JSON.stringify(faultsSet.body)}`);
      try {
        const delayedMs = await timeOpen(`connection a->b opening with every OFFER held ${delayMs} ms`, delayMs + WAIT_MS);
        return { a: a.peer.id, b: b.peer.id, delayMs, baselineMs, delayedMs, faultsSet };
      } finally {
        await window.e2eDriver('clear-faults');
      }
    },

    async 'dropped-answer'() {
      /** How long the offerer watches a connection whose ANSWER the server drops. */
      const watchMs = 5000;
      const a = await openPeer('a', uniqueId('offerer'));
      const b = await openPeer('b', uniqueId('answerer'));
      const incoming = waitFor(b.peer, 'connection', 'peer b receiving the OFFER from a');
      const outgoing = a.peer.connect(b.peer.id);
      const accepted = await incoming;
      const opened = [];
      accepted.on('open', () => opened.push('accepted'));
      // Opening is the failure here: a timeout is the expected outcome, and its message is kept for the report.
      const outcome = await waitFor(outgoing, 'open', 'connection a->b opening with every ANSWER dropped', watchMs).then(
        () => 'open',
        (error) => error.message,
      );
      if (outgoing.open) opened.push('outgoing');
      return {
        a: a.peer.id,
        b: b.peer.id,
        watchMs,
        outcome,
        opened,
        offererSignaling: outgoing.peerConnection?.signalingState,
        answererSignaling: accepted.peerConnection?.signalingState,
        peersOpen: [a.peer.open, b.peer.open],
      };
    },
  };

  window.e2e = {
    names: Object.keys(scenarios),
    /** Runs one scenario against `target` ({host, port, path, key}); the page is thrown away afterwards. */
    async run(name, target) {
      const scenario = scenarios[name];
      if (scenario === undefined) throw new Error(`unknown scenario "${name}"; known: ${Object.keys(scenarios).join(', ')}`);
      server = target;
      try {
        return await scenario();
      } finally {
        for (const { peer } of created) peer.destroy();
      }
    },
  };
})();
