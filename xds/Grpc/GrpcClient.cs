using System.Net;
using Google.Protobuf;
using Herald.Xds.Streams;

namespace Herald.Xds.Grpc;

/// <summary>
/// A gRPC client over cleartext HTTP/2 with prior knowledge (h2c), on <see cref="SocketsHttpHandler"/>.
/// Thread-safe; calls share the handler's connections.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly bool _ownsInvoker;
    private readonly string _baseAddress;

    /// <summary>A client with its own <see cref="SocketsHttpHandler"/> (see <see cref="CreateHandler"/>).</summary>
    public GrpcClient(Uri address, GrpcClientOptions? options = null)
        : this(new HttpMessageInvoker(CreateHandler(), disposeHandler: true), address, options, ownsInvoker: true)
    {
    }

    /// <summary>A client on a caller's invoker, which it does not dispose.</summary>
    public GrpcClient(HttpMessageInvoker invoker, Uri address, GrpcClientOptions? options = null)
        : this(invoker, address, options, ownsInvoker: false)
    {
    }

    private GrpcClient(HttpMessageInvoker invoker, Uri address, GrpcClientOptions? options, bool ownsInvoker)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp || address.AbsolutePath != "/")
        {
            throw new ArgumentException($"expected http://HOST:PORT (h2c), got {address}", nameof(address));
        }

        Options = options ?? new GrpcClientOptions();
        if (Options.MaxReceiveMessageSize <= 0 || Options.WriteQueueCapacity <= 0)
        {
            throw new ArgumentException("MaxReceiveMessageSize and WriteQueueCapacity must be positive", nameof(options));
        }

        _invoker = invoker;
        _ownsInvoker = ownsInvoker;
        _baseAddress = address.GetLeftPart(UriPartial.Authority);
        Address = address;
    }

    /// <summary>The server's address (http://HOST:PORT).</summary>
    public Uri Address { get; }

    public GrpcClientOptions Options { get; }

    internal HttpMessageInvoker Invoker => _invoker;

    /// <summary>
    /// A handler fit for gRPC: no redirects, cookies, proxy or decompression; keep-alive pings
    /// so a dead peer under a long-lived stream is noticed.
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        EnableMultipleHttp2Connections = true,
        KeepAlivePingDelay = TimeSpan.FromSeconds(30),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>One request, one response. Throws <see cref="GrpcException"/> unless the status is OK.</summary>
    public async Task<TResp> UnaryAsync<TReq, TResp>(string method, TReq request, MessageParser<TResp> parser, GrpcCallOptions options = default)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new GrpcDuplexCall<TReq, TResp>(this, method, parser, options, request);
        await using (call.ConfigureAwait(false))
        {
            var response = await call.ReadAsync(CancellationToken.None).ConfigureAwait(false)
                ?? throw call.FailLocally(new GrpcStatus(GrpcStatusCode.Unimplemented, "the server sent no response message for a unary call"));
            if (await call.ReadAsync(CancellationToken.None).ConfigureAwait(false) is not null)
            {
                throw call.FailLocally(new GrpcStatus(GrpcStatusCode.Unimplemented, "the server sent more than one response message for a unary call"));
            }

            return response;
        }
    }

    /// <summary>
    /// Starts a bidirectional streaming call. Messages are sent as they are written; responses
    /// are read as they arrive. Dispose the call to end it (a call not finished is cancelled).
    /// </summary>
    public GrpcDuplexCall<TReq, TResp> StartDuplex<TReq, TResp>(string method, MessageParser<TResp> parser, GrpcCallOptions options = default)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp> =>
        new(this, method, parser, options, unaryRequest: null);

    /// <summary>Starts a duplex call typed as the shared stream abstraction.</summary>
    public IMessageStream<TResp, TReq> StartStream<TReq, TResp>(string method, MessageParser<TResp> parser, GrpcCallOptions options = default)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp> =>
        StartDuplex<TReq, TResp>(method, parser, options);

    internal Uri MethodUri(string method)
    {
        if (method.Length < 3 || method[0] != '/' || method.IndexOf('/', 1) < 0)
        {
            throw new ArgumentException($"expected a method path like /package.Service/Method, got '{method}'", nameof(method));
        }

        return new Uri(_baseAddress + method, UriKind.Absolute);
    }

    public void Dispose()
    {
        if (_ownsInvoker)
        {
            _invoker.Dispose();
        }
    }
}
