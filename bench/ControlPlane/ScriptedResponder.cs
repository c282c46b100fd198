using System.Diagnostics;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds;
using Herald.Xds.Streams;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// A scripted state-of-the-world ADS server for one client: fixed clusters, no listeners,
/// and endpoint sets pushed on demand. It timestamps the ACK (or NACK) of each EDS push.
/// </summary>
internal sealed class ScriptedResponder
{
    private readonly IReadOnlyList<Any> _clusters;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource _initial = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IMessageStream<DiscoveryRequest, DiscoveryResponse>? _stream;
    private IReadOnlyList<Any> _endpoints;
    private int _edsVersion;
    private int _nonce;
    private bool _endpointsSent;
    private string? _pendingNonce;
    private TaskCompletionSource<long>? _pendingAck;

    public ScriptedResponder(IReadOnlyList<Any> clusters, IReadOnlyList<Any> endpoints)
    {
        _clusters = clusters;
        _endpoints = endpoints;
    }

    /// <summary>Completes when the first endpoint set is ACKed.</summary>
    public Task Initial => _initial.Task;

    public async Task ServeAsync(IMessageStream<DiscoveryRequest, DiscoveryResponse> stream, CancellationToken cancellationToken)
    {
        _stream = stream;
        var sentClusters = false;
        var sentListeners = false;
        while (await stream.ReadAsync(cancellationToken) is { } request)
        {
            var arrived = Stopwatch.GetTimestamp();
            switch (request.TypeUrl)
            {
                case XdsTypeUrls.Cluster when !sentClusters:
                    sentClusters = true;
                    await SendAsync(XdsTypeUrls.Cluster, "c1", _clusters, cancellationToken);
                    break;
                case XdsTypeUrls.Listener when !sentListeners:
                    sentListeners = true;
                    await SendAsync(XdsTypeUrls.Listener, "l1", [], cancellationToken);
                    break;
                case XdsTypeUrls.ClusterLoadAssignment:
                    if (request.ResponseNonce.Length > 0 && request.ResponseNonce == _pendingNonce)
                    {
                        var pending = _pendingAck;
                        _pendingNonce = null;
                        _pendingAck = null;
                        if (request.ErrorDetail is { } error)
                        {
                            var nack = new InvalidOperationException("the client refused the endpoints: " + error.Message);
                            _initial.TrySetException(nack);
                            pending?.TrySetException(nack);
                        }
                        else
                        {
                            _initial.TrySetResult();
                            pending?.TrySetResult(arrived);
                        }
                    }
                    else if (!_endpointsSent && request.ResourceNames.Count > 0)
                    {
                        _endpointsSent = true;
                        await PushCoreAsync(_endpoints, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
                    }

                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>Sends a new endpoint set; returns the Stopwatch timestamps of the write and of its ACK.</summary>
    public async Task<(long Sent, long Acked)> PushAsync(IReadOnlyList<Any> endpoints, CancellationToken cancellationToken)
    {
        var acked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = await PushCoreAsync(endpoints, acked, cancellationToken);
        return (sent, await acked.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken));
    }

    private async Task<long> PushCoreAsync(IReadOnlyList<Any> endpoints, TaskCompletionSource<long> acked, CancellationToken cancellationToken)
    {
        _endpoints = endpoints;
        var version = "e" + Interlocked.Increment(ref _edsVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var response = Response(XdsTypeUrls.ClusterLoadAssignment, version, endpoints);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            _pendingAck = acked;
            _pendingNonce = response.Nonce;
            var sent = Stopwatch.GetTimestamp();
            await _stream!.WriteAsync(response, cancellationToken);
            return sent;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task SendAsync(string typeUrl, string version, IReadOnlyList<Any> resources, CancellationToken cancellationToken)
    {
        var response = Response(typeUrl, version, resources);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream!.WriteAsync(response, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private DiscoveryResponse Response(string typeUrl, string version, IReadOnlyList<Any> resources)
    {
        var response = new DiscoveryResponse
        {
            TypeUrl = typeUrl,
            VersionInfo = version,
            Nonce = "n" + Interlocked.Increment(ref _nonce).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        response.Resources.AddRange(resources);
        return response;
    }
}
