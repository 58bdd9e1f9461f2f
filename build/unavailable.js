// Stands in, in Paddock's bundles, for dependencies of dependencies that Paddock never calls:
// docker-modem's ssh2 transport (Paddock runs the system ssh, as the docker CLI does) and
// dockerode's BuildKit session and progress decoder (gRPC, protobuf; Paddock uses the classic builder). Leaving them out halves
// the bundle and the CLI's start-up time. Anything that does reach them fails loudly.
'use strict';
module.exports = new Proxy({}, {
  get(_target, key) {
    if (key === '__esModule') return false;
    return function unavailable() {
      throw new Error(`${String(key)} is not part of Paddock's bundle (see build/unavailable.js)`);
    };
  },
});
