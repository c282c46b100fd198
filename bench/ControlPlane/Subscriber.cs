using System.Diagnostics;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Herald.Xds;
using Herald.Xds.Streams;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// A minimal state-of-the-world ADS subscriber: node on the first request, wildcard CDS and
/// LDS, EDS for the clusters CDS named, and an ACK (version and nonce) for every response.
/// It records when the EDS response carrying an awaited address for one cluster arrives.
/// </summary>
internal sealed class Subscriber
{
    private readonly IMessageStream<DiscoveryResponse, DiscoveryRequest> _stream;
    private readonly Node _node;
    private readonly TaskCompletionSource _firstEndpoints = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private Watch? _watch;

    public Subscriber(IMessageStream<DiscoveryResponse, DiscoveryRequest> stream, Node node)
    {
        _stream = stream;
        _node = node;
    }

    /// <summary>Completes when the first EDS response has arrived (and been ACKed).</summary>
    public Task FirstEndpoints => _firstEndpoints.Task;

    public int EndpointResponses { get; private set; }

    /// <summary>Arms a watch; the returned task gives the Stopwatch timestamp of arrival.</summary>
    public Task<long> Expect(string cluster, string address)
    {
        var watch = new Watch(Prefix(cluster), address);
        lock (_lock)
        {
            _watch = watch;
        }

        return watch.Arrived.Task;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(new DiscoveryRequest { Node = _node, TypeUrl = XdsTypeUrls.Cluster }, cancellationToken);
            await _stream.WriteAsync(new DiscoveryRequest { TypeUrl = XdsTypeUrls.Listener }, cancellationToken);
            List<string> edsNames = [];
            while (await _stream.ReadAsync(cancellationToken) is { } response)
            {
                var arrived = Stopwatch.GetTimestamp();
                var ack = new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce };
                switch (response.TypeUrl)
                {
                    case XdsTypeUrls.Cluster:
                        await _stream.WriteAsync(ack, cancellationToken);
                        var names = new List<string>();
                        foreach (var any in response.Resources)
                        {
                            var cluster = any.Unpack<Cluster>();
                            if (cluster.Type == Cluster.Types.DiscoveryType.Eds)
                            {
                                names.Add(cluster.EdsClusterConfig?.ServiceName is { Length: > 0 } s ? s : cluster.Name);
                            }
                        }

                        names.Sort(StringComparer.Ordinal);
                        if (!names.SequenceEqual(edsNames))
                        {
                            edsNames = names;
                            var request = new DiscoveryRequest { TypeUrl = XdsTypeUrls.ClusterLoadAssignment };
                            request.ResourceNames.AddRange(edsNames);
                            await _stream.WriteAsync(request, cancellationToken);
                        }

                        break;
                    case XdsTypeUrls.ClusterLoadAssignment:
                        Check(response, arrived);
                        ack.ResourceNames.AddRange(edsNames);
                        await _stream.WriteAsync(ack, cancellationToken);
                        EndpointResponses++;
                        _firstEndpoints.TrySetResult();
                        break;
                    default:
                        await _stream.WriteAsync(ack, cancellationToken);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _firstEndpoints.TrySetException(e);
            lock (_lock)
            {
                _watch?.Arrived.TrySetException(e);
            }
        }
    }

    // Finds the awaited cluster's assignment by its leading cluster_name field (field 1 is
    // serialized first), so only that one resource is parsed.
    private void Check(DiscoveryResponse response, long arrived)
    {
        Watch? watch;
        lock (_lock)
        {
            watch = _watch;
        }

        if (watch is null)
        {
            return;
        }

        foreach (var any in response.Resources)
        {
            if (!any.Value.Span.StartsWith(watch.NamePrefix))
            {
                continue;
            }

            var assignment = ClusterLoadAssignment.Parser.ParseFrom(any.Value);
            foreach (var group in assignment.Endpoints)
            {
                foreach (var endpoint in group.LbEndpoints)
                {
                    if (endpoint.Endpoint?.Address?.SocketAddress?.Address == watch.Address)
                    {
                        lock (_lock)
                        {
                            if (ReferenceEquals(_watch, watch))
                            {
                                _watch = null;
                            }
                        }

                        watch.Arrived.TrySetResult(arrived);
                        return;
                    }
                }
            }
        }
    }

    private static byte[] Prefix(string cluster)
    {
        var name = Encoding.UTF8.GetBytes(cluster);
        var prefix = new List<byte> { 0x0A };
        var length = (uint)name.Length;
        while (length >= 0x80)
        {
            prefix.Add((byte)(length | 0x80));
            length >>= 7;
        }

        prefix.Add((byte)length);
        prefix.AddRange(name);
        return [.. prefix];
    }

    private sealed class Watch(byte[] namePrefix, string address)
    {
        public byte[] NamePrefix { get; } = namePrefix;

        public string Address { get; } = address;

        public TaskCompletionSource<long> Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
