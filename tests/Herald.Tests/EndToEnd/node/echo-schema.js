'use strict';
// The Echo service of Herald's end-to-end tests, one method per gRPC call kind, as a
// protobuf.js JSON schema (no .proto file is kept in the repository).
const protoLoader = require('@grpc/proto-loader');

const schema = {
  nested: { herald: { nested: { e2e: { nested: {
    Echo: {
      methods: {
        Unary: { requestType: 'EchoRequest', responseType: 'EchoReply' },
        ServerStream: { requestType: 'EchoRequest', responseType: 'EchoReply', responseStream: true },
        ClientStream: { requestType: 'EchoRequest', responseType: 'EchoReply', requestStream: true },
        Bidi: { requestType: 'EchoRequest', responseType: 'EchoReply', requestStream: true, responseStream: true },
      },
    },
    EchoRequest: {
      fields: {
        message: { type: 'string', id: 1 },
        // ServerStream: how many replies to send.
        count: { type: 'int32', id: 2 },
        // When non-zero the server fails the call with this status code, this grpc-message
        // and this value in the trailing metadata key x-detail.
        fail_code: { type: 'int32', id: 3 },
        fail_message: { type: 'string', id: 4 },
        fail_detail: { type: 'string', id: 5 },
        // Payload size check: the server reports payload.length back.
        payload: { type: 'bytes', id: 6 },
        // With fail_code: fail before any response header (a trailers-only response).
        trailers_only: { type: 'bool', id: 7 },
      },
    },
    EchoReply: {
      fields: {
        message: { type: 'string', id: 1 },
        index: { type: 'int32', id: 2 },
        payload_length: { type: 'int32', id: 3 },
      },
    },
  } } } } },
};

/** The Echo service constructor, for grpc-js. */
module.exports = (grpc) =>
  grpc.loadPackageDefinition(protoLoader.fromJSON(schema, { keepCase: true, longs: Number, defaults: true })).herald.e2e.Echo;
