using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds.Streams;
using Xunit;

namespace Herald.Tests.Xds.Client;

/// <summary>
/// The far end of the client's in-memory ADS streams, driven by the test: send a response,
/// expect a request. Every wait gives up after a few real seconds so a broken client fails
/// the test instead of hanging it.
/// </summary>
internal sealed class ScriptedAdsServer
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Channel<SotwStream> _sotwStreams = Channel.CreateUnbounded<SotwStream>();
    private readonly Channel<DeltaStream> _deltaStreams = Channel.CreateUnbounded<DeltaStream>();
    private readonly Channel<int> _attempts = Channel.CreateUnbounded<int>();
    private int _connectAttempts;

    /// <summary>While true, connection attempts fail as if the server were down.</summary>
    public bool Refusing { get; set; }

    public int ConnectAttempts => Volatile.Read(ref _connectAttempts);

    public ValueTask<IMessageStream<DiscoveryResponse, DiscoveryRequest>> ConnectSotwAsync(CancellationToken cancellationToken)
    {
        CountAttempt();
        var (client, server) = InMemoryStreams.CreatePair<DiscoveryRequest, DiscoveryResponse>();
        _sotwStreams.Writer.TryWrite(new SotwStream(server));
        return ValueTask.FromResult(client);
    }

    public ValueTask<IMessageStream<DeltaDiscoveryResponse, DeltaDiscoveryRequest>> ConnectDeltaAsync(CancellationToken cancellationToken)
    {
        CountAttempt();
        var (client, server) = InMemoryStreams.CreatePair<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
        _deltaStreams.Writer.TryWrite(new DeltaStream(server));
        return ValueTask.FromResult(client);
    }

    public async Task<SotwStream> NextSotwStreamAsync() => await _sotwStreams.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public async Task<DeltaStream> NextDeltaStreamAsync() => await _deltaStreams.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    /// <summary>Waits for the next connection attempt, successful or not; returns its number.</summary>
    public async Task<int> NextAttemptAsync() => await _attempts.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    private void CountAttempt()
    {
        var attempt = Interlocked.Increment(ref _connectAttempts);
        _attempts.Writer.TryWrite(attempt);
        if (Refusing)
        {
            throw new IOException("connection refused (scripted)");
        }
    }

    public static Any Pack(IMessage message) => Any.Pack(message);

    internal sealed class SotwStream(IMessageStream<DiscoveryRequest, DiscoveryResponse> end)
    {
        private int _nonce;

        /// <summary>Sends a response with a fresh nonce ("n1", "n2", ...), which it returns.</summary>
        public async Task<string> SendAsync(string typeUrl, string version, params IMessage[] resources)
        {
            var nonce = "n" + Interlocked.Increment(ref _nonce);
            await SendWithNonceAsync(typeUrl, version, nonce, resources);
            return nonce;
        }

        public Task SendWithNonceAsync(string typeUrl, string version, string nonce, params IMessage[] resources)
        {
            var response = new DiscoveryResponse { TypeUrl = typeUrl, VersionInfo = version, Nonce = nonce };
            foreach (var resource in resources)
            {
                response.Resources.Add(Any.Pack(resource));
            }

            return SendRawAsync(response);
        }

        public async Task<string> SendRawAsync(DiscoveryResponse response)
        {
            if (string.IsNullOrEmpty(response.Nonce))
            {
                response.Nonce = "n" + Interlocked.Increment(ref _nonce);
            }

            await end.WriteAsync(response, CancellationToken.None).AsTask().WaitAsync(Patience);
            return response.Nonce;
        }

        public async Task<DiscoveryRequest> NextRequestAsync() =>
            await end.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Patience) ?? throw new InvalidOperationException("the client closed the stream");

        /// <summary>Expects the next request: its type, version, nonce, names (if given) and whether it is a NACK.</summary>
        public async Task<DiscoveryRequest> ExpectAsync(string typeUrl, string version, string nonce, string[]? names = null, bool nack = false)
        {
            var request = await NextRequestAsync();
            Assert.Equal(typeUrl, request.TypeUrl);
            Assert.Equal(version, request.VersionInfo);
            Assert.Equal(nonce, request.ResponseNonce);
            if (names is not null)
            {
                Assert.Equal(names, request.ResourceNames);
            }

            if (nack)
            {
                Assert.NotNull(request.ErrorDetail);
                Assert.False(string.IsNullOrEmpty(request.ErrorDetail.Message));
            }
            else
            {
                Assert.Null(request.ErrorDetail);
            }

            return request;
        }

        /// <summary>The server goes away: the client's read ends.</summary>
        public ValueTask DropAsync() => end.CompleteAsync();
    }

    internal sealed class DeltaStream(IMessageStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> end)
    {
        private int _nonce;

        public async Task<string> SendAsync(string typeUrl, string systemVersion, IReadOnlyList<(string Version, IMessage Resource)> resources, params string[] removed)
        {
            var response = new DeltaDiscoveryResponse
            {
                TypeUrl = typeUrl,
                SystemVersionInfo = systemVersion,
                Nonce = "d" + Interlocked.Increment(ref _nonce),
            };
            foreach (var (version, resource) in resources)
            {
                response.Resources.Add(new Resource { Version = version, Resource_ = Any.Pack(resource) });
            }

            response.RemovedResources.AddRange(removed);
            await end.WriteAsync(response, CancellationToken.None).AsTask().WaitAsync(Patience);
            return response.Nonce;
        }

        public async Task<DeltaDiscoveryRequest> NextRequestAsync() =>
            await end.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Patience) ?? throw new InvalidOperationException("the client closed the stream");

        /// <summary>Expects the next request: its type, nonce, subscription changes (if given) and whether it is a NACK.</summary>
        public async Task<DeltaDiscoveryRequest> ExpectAsync(string typeUrl, string nonce, string[]? subscribe = null, string[]? unsubscribe = null, bool nack = false)
        {
            var request = await NextRequestAsync();
            Assert.Equal(typeUrl, request.TypeUrl);
            Assert.Equal(nonce, request.ResponseNonce);
            if (subscribe is not null)
            {
                Assert.Equal(subscribe, request.ResourceNamesSubscribe);
            }

            if (unsubscribe is not null)
            {
                Assert.Equal(unsubscribe, request.ResourceNamesUnsubscribe);
            }

            Assert.Equal(nack, request.ErrorDetail is not null);
            return request;
        }

        public ValueTask DropAsync() => end.CompleteAsync();
    }
}
