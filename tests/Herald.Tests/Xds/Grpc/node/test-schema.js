'use strict';
// The Test service of Herald's gRPC transport tests, as a protobuf.js JSON schema (no .proto
// file is kept in the repository). Messages are StringValue wrappers (field 1, a string), so the
// C# side needs no generated code.
//   Echo: replies "echo:" + value; "fail:" + text fails with INVALID_ARGUMENT; "sleep:" + ms
//         replies after that long (or ends when the call is cancelled).
//   Chat: replies to each message with the same value; "fail" ends the call with an error.
const protoLoader = require('@grpc/proto-loader');

const schema = {
  nested: {
    google: { nested: { protobuf: { nested: { StringValue: { fields: { value: { type: 'string', id: 1 } } } } } } },
    herald: { nested: { grpctest: { nested: {
      Test: {
        methods: {
          Echo: { requestType: '.google.protobuf.StringValue', responseType: '.google.protobuf.StringValue' },
          Chat: {
            requestType: '.google.protobuf.StringValue',
            responseType: '.google.protobuf.StringValue',
            requestStream: true,
            responseStream: true,
          },
        },
      },
    } } } },
  },
};

/** The Test service constructor, for grpc-js. */
module.exports = (grpc) =>
  grpc.loadPackageDefinition(protoLoader.fromJSON(schema, { keepCase: true, defaults: true })).herald.grpctest.Test;
