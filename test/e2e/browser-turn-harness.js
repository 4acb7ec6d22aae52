// Browser side of the TURN e2e test: two real peerjs peers that fetch iceServers from peer-signal and may only use relays.
// The driver calls window.e2e.run('relay-data-connection', target); it resolves with what the peers saw and the route
// their data took (from getStats), or rejects saying what it was waiting for and what had happened so far.
(() => {
  'use strict';

  /** Relay candidates need a TURN round trip each; still well under the driver's 15 s per scenario. */
  const WAIT_MS = 10_000;
  const { Peer } = window.peerjs;
  const created = [];
  const events = [];

  /** The first `event` of `emitter`; an `error` first, or the deadline, rejects naming `what` and the events so far. */
  function first(emitter, event, what) {
    return new Promise((resolve, reject) => {
      const fail = (reason) => {
        clearTimeout(timer);
        reject(new Error(`${what}: ${reason}; events: ${events.join(', ')}`));
      };
      const timer = setTimeout(() => fail(`no "${event}" within ${WAIT_MS} ms`), WAIT_MS);
      emitter.once(event, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      emitter.once('error', (error) => fail(`error ${error.type}: ${error.message}`));
    });
  }

  /** GET {prefix}/{key}/ice-servers?id=ID from the signaling server, cross-origin (its CORS answers this page's origin). */
  async function fetchIceServers(target, id) {
    const response = await fetch(`${target.iceServersUrl}?id=${encodeURIComponent(id)}`);
    const body = await response.json();
    if (response.status !== 200) throw new Error(`GET ${target.iceServersUrl} answered ${response.status}: ${JSON.stringify(body)}`);
    return body;
  }

  async function openRelayPeer(target, label) {
    const id = `${label}-${Math.random().toString(36).slice(2, 10)}`;
    const { iceServers, ttl } = await fetchIceServers(target, id);
    // What the README tells users to write: the fetched list as is, and relays only, so nothing but TURN can carry the data.
    const peer = new Peer(id, { host: target.host, port: target.port, path: target.path, key: target.key, debug: 1, config: { iceServers, iceTransportPolicy: 'relay' } });
    created.push(peer);
    peer.on('error', (error) => events.push(`${label} error(${error.type}: ${error.message})`));
    peer.on('open', () => events.push(`${label} open`));
    peer.on('connection', () => events.push(`${label} connection`));
    await first(peer, 'open', `peer ${label} opening`);
    return { label, id, peer, iceServers, ttl };
  }

  /** The candidate pair the connection settled on, and every candidate type this end gathered. */
  async function route(peerConnection) {
    const stats = await peerConnection.getStats();
    let pair;
    const gathered = new Set();
    stats.forEach((report) => {
      if (report.type === 'transport' && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
      if (report.type === 'local-candidate') gathered.add(report.candidateType);
    });
    const describe = (id) => {
      const { candidateType, address, port, protocol, relayProtocol, url } = stats.get(id) ?? {};
      return { candidateType, address, port, protocol, relayProtocol, url };
    };
    return {
      state: pair?.state,
      local: pair && describe(pair.localCandidateId),
      remote: pair && describe(pair.remoteCandidateId),
      gathered: [...gathered].sort(),
      policy: peerConnection.getConfiguration().iceTransportPolicy,
    };
  }

  const scenarios = {
    async 'relay-data-connection'(target) {
      const a = await openRelayPeer(target, 'a');
      const b = await openRelayPeer(target, 'b');
      const incoming = first(b.peer, 'connection', 'peer b receiving the connection');
      const outgoing = a.peer.connect(b.id, { reliable: true });
      const accepted = await incoming;
      await Promise.all([first(outgoing, 'open', 'the connection opening at a'), first(accepted, 'open', 'the connection opening at b')]);
      const atB = first(accepted, 'data', 'b receiving from a');
      const atA = first(outgoing, 'data', 'a receiving from b');
      outgoing.send('hello from a, through the relay');
      accepted.send('hello from b, through the relay');
      const [receivedByB, receivedByA] = await Promise.all([atB, atA]);
      return {
        a: { id: a.id, ttl: a.ttl, iceServers: a.iceServers.map(({ urls, username }) => ({ urls, username })) },
        b: { id: b.id, ttl: b.ttl, iceServers: b.iceServers.map(({ urls, username }) => ({ urls, username })) },
        receivedByA,
        receivedByB,
        outgoing: await route(outgoing.peerConnection),
        accepted: await route(accepted.peerConnection),
      };
    },
  };

  window.e2e = {
    async run(name, target) {
      const scenario = scenarios[name];
      if (scenario === undefined) throw new Error(`unknown scenario "${name}"; known: ${Object.keys(scenarios).join(', ')}`);
      try {
        return await scenario(target);
      } finally {
        for (const peer of created) peer.destroy();
      }
    },
  };
})();
