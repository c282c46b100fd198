using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Herald.Proxy.Http;
using Herald.Proxy.Http.Http1;
using Herald.Proxy.Observability;
using Herald.Proxy.Tcp;
using Herald.Proxy.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Proxy.Listeners;

/// <summary>TLS termination: runs only for filter chains with a transport_socket, so cleartext pays nothing.</summary>
internal sealed partial class ListenerHost
{
    /// <summary>A client that has not finished its handshake by then is dropped (Kestrel's default too).</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private TlsListenerStats? _tlsStats;

    private TlsListenerStats TlsStats => LazyInitializer.EnsureInitialized(ref _tlsStats, () => new TlsListenerStats(_stats, _listenerStats.Name));

    private async Task ServeTlsAsync(ConnectionContext context, ConnectionDelegate next, DownstreamTlsConfig tls, object handler, IPEndPoint? original, ListenerConfig config)
    {
        var stats = TlsStats;
        var ssl = new SslStream(new DuplexPipeStream(context.Transport), leaveInnerStreamOpen: true);
        var pipe = new TlsPipe(ssl);
        try
        {
            using (var timeout = new CancellationTokenSource(HandshakeTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, context.ConnectionClosed))
            {
                try
                {
                    await ssl.AuthenticateAsServerAsync(SelectServerOptions, tls, linked.Token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Whatever the client sent, a failed handshake costs only its own connection.
                    stats.ConnectionError.Increment();
                    if (e is not (System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException))
                    {
                        ProcessLog.Error($"TLS handshake on listener {config.Name}", e);
                    }

                    context.Abort();
                    return;
                }
            }

            stats.Handshake.Increment();
            if (ssl.RemoteCertificate is null)
            {
                stats.NoCertificate.Increment();
            }

            if (handler is TcpProxyHandler tcp)
            {
                await tcp.HandleAsync(pipe, context.RemoteEndPoint, original, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            var manager = (HttpConnectionManager)handler;
            if (await UsesHttp2Async(manager.Config.Codec, ssl, pipe, config.SniffTimeout, context.ConnectionClosed).ConfigureAwait(false))
            {
                // Kestrel's HTTP/2 reads the connection's transport when called, so it gets the decrypted pipe.
                var cleartext = context.Transport;
                context.Transport = pipe;
                // Kestrel serves HTTP/2 on a TLS connection only when told that ALPN chose h2 (a preface
                // sniffed without ALPN counts the same); the TLS feature makes the request scheme https.
                var feature = new TlsConnectionFeature(ssl.RemoteCertificate as X509Certificate2);
                context.Features.Set<ITlsConnectionFeature>(feature);
                context.Features.Set<ITlsApplicationProtocolFeature>(feature);
                try
                {
                    await ServeHttp2Async(context, next, manager, original).ConfigureAwait(false);
                }
                finally
                {
                    context.Transport = cleartext;
                }

                return;
            }

            using var connection = new Http1Connection(manager, pipe, context.RemoteEndPoint as IPEndPoint, isTls: true) { OriginalDestination = original };
            await connection.RunAsync(context.ConnectionClosed, CloseRequested(context)).ConfigureAwait(false);
        }
        finally
        {
            await pipe.CloseAsync().ConfigureAwait(false);
        }
    }

    private static ValueTask<SslServerAuthenticationOptions> SelectServerOptions(SslStream stream, SslClientHelloInfo hello, object? state, CancellationToken cancellationToken)
    {
        var tls = (DownstreamTlsConfig)state!;
        var options = tls.OptionsFor(string.IsNullOrEmpty(hello.ServerName) ? null : hello.ServerName);
        return options is null
            ? ValueTask.FromException<SslServerAuthenticationOptions>(new NoCertificateException($"no certificate is available for server name '{hello.ServerName}' (an SDS secret that has not arrived?)"))
            : ValueTask.FromResult(options);
    }

    /// <summary>ALPN decides (h2 -> HTTP/2, anything else -> HTTP/1.1); without ALPN, codec AUTO looks for the HTTP/2 preface.</summary>
    private async ValueTask<bool> UsesHttp2Async(CodecType codec, SslStream ssl, TlsPipe pipe, TimeSpan sniffTimeout, CancellationToken closed)
    {
        if (codec != CodecType.Auto)
        {
            return codec == CodecType.Http2;
        }

        var negotiated = ssl.NegotiatedApplicationProtocol;
        if (negotiated == SslApplicationProtocol.Http2)
        {
            return true;
        }

        if (negotiated.Protocol.Length > 0)
        {
            return false;
        }

        var sniff = await ProtocolSniffer.SniffAsync(pipe.Input, sniffTimeout, _time, closed).ConfigureAwait(false);
        return sniff.Protocol == DetectedProtocol.Http2;
    }

    private sealed class NoCertificateException(string message) : Exception(message);

    private sealed class TlsConnectionFeature(X509Certificate2? clientCertificate) : ITlsConnectionFeature, ITlsApplicationProtocolFeature
    {
        public ReadOnlyMemory<byte> ApplicationProtocol => SslApplicationProtocol.Http2.Protocol;

        public X509Certificate2? ClientCertificate { get; set; } = clientCertificate;

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
    }
}
