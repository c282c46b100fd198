using System.Diagnostics;
using System.Net;
using Herald.Xds.Client;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// A data-plane stand-in using public types only: it turns every ClusterLoadAssignment into
/// an endpoint list (parsed address, port, weight, locality) and times that work. It does
/// not build clusters, load balancers or connection pools; the real proxy does that in
/// internal code (see the child-process row).
/// </summary>
internal sealed class RecordingTarget : IXdsConfigTarget
{
    private Dictionary<string, List<BenchEndpoint>> _endpoints = new(StringComparer.Ordinal);
    private long _lastApplyTicks;

    public int EndpointCount { get; private set; }

    /// <summary>Stopwatch ticks the last apply took.</summary>
    public long LastApplyTicks => Volatile.Read(ref _lastApplyTicks);

    public ValueTask<XdsApplyResult> ApplyAsync(XdsResources resources, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var next = new Dictionary<string, List<BenchEndpoint>>(resources.Endpoints.Count, StringComparer.Ordinal);
        var count = 0;
        foreach (var (name, assignment) in resources.Endpoints)
        {
            var list = new List<BenchEndpoint>();
            foreach (var group in assignment.Endpoints)
            {
                foreach (var lb in group.LbEndpoints)
                {
                    var socket = lb.Endpoint?.Address?.SocketAddress;
                    if (socket is null || !IPAddress.TryParse(socket.Address, out var ip))
                    {
                        return ValueTask.FromResult(XdsApplyResult.Refused($"ClusterLoadAssignment '{name}': endpoint without an IP socket address"));
                    }

                    list.Add(new BenchEndpoint(
                        new IPEndPoint(ip, (int)socket.PortValue),
                        lb.LoadBalancingWeight ?? 1,
                        group.Locality?.Zone ?? string.Empty,
                        group.Priority));
                }
            }

            count += list.Count;
            next[name] = list;
        }

        _endpoints = next;
        EndpointCount = count;
        Volatile.Write(ref _lastApplyTicks, Stopwatch.GetTimestamp() - start);
        return ValueTask.FromResult(XdsApplyResult.Ok);
    }

    private sealed record BenchEndpoint(IPEndPoint Address, uint Weight, string Zone, uint Priority);
}
