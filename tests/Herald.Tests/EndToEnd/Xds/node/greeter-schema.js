'use strict';
// The Greeter of Herald's xDS end-to-end tests, as a protobuf.js JSON schema (no .proto file
// is kept in the repository). Every server answers with its own name, so the client can count
// which instance each call reached.
const protoLoader = require('@grpc/proto-loader');

const schema = {
  nested: { herald: { nested: { e2e: { nested: { xds: { nested: {
    Greeter: { methods: { SayHello: { requestType: 'HelloRequest', responseType: 'HelloReply' } } },
    HelloRequest: { fields: { name: { type: 'string', id: 1 } } },
    // server: the answering server's --name.
    HelloReply: { fields: { message: { type: 'string', id: 1 }, server: { type: 'string', id: 2 } } },
  } } } } } } },
};

/** The Greeter service constructor, for grpc-js. */
module.exports = (grpc) =>
  grpc.loadPackageDefinition(protoLoader.fromJSON(schema, { keepCase: true, defaults: true })).herald.e2e.xds.Greeter;
