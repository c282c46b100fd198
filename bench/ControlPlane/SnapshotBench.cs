using System.Diagnostics;
using System.Globalization;
using Herald.Xds.ControlPlane;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>Part 1: snapshot build time per node kind, and the memory the control plane holds.</summary>
internal static class SnapshotBench
{
    public static void Run(BenchOptions options, Report report)
    {
        var baselineManaged = GC.GetTotalMemory(true);
        var baselineRss = Report.Rss();

        var mesh = BenchMesh.Create(options.Services, options.Streams, options.Deps);
        using var registry = new ServiceRegistry(TimeProvider.System);
        var populate = Stopwatch.StartNew();
        BenchMesh.Populate(registry, options.Services, options.Endpoints);
        var view = registry.View();
        populate.Stop();
        var dataManaged = GC.GetTotalMemory(true);

        var roles = new (string Label, NodeRole Role)[]
        {
            ("gateway", new NodeRole(NodeKind.Gateway, BenchMesh.GatewayName, null, null)),
            ($"sidecar, unscoped (all {options.Services} services)", new NodeRole(NodeKind.Sidecar, null, BenchMesh.UnscopedWorkload, null)),
            ($"sidecar, scoped ({options.Deps} dependencies)", new NodeRole(NodeKind.Sidecar, null, BenchMesh.ScopedWorkload(0), null)),
        };

        var held = new List<XdsSnapshot>();
        foreach (var (label, role) in roles)
        {
            // Warm-up builds JIT the builder and the generated protobuf code.
            for (var i = 0; i < 3; i++)
            {
                SnapshotBuilder.Build(mesh, view, role);
            }

            var samples = new Samples();
            var cpuStart = CpuClock.Ms();
            var iterations = role.Workload == BenchMesh.ScopedWorkload(0) ? options.Builds * 10 : options.Builds;
            for (var i = 0; i < iterations; i++)
            {
                var start = Stopwatch.GetTimestamp();
                SnapshotBuilder.Build(mesh, view, role);
                samples.AddElapsed(start, Stopwatch.GetTimestamp());
            }

            var cpuPerBuild = (CpuClock.Ms() - cpuStart) / iterations;
            var snapshot = SnapshotBuilder.Build(mesh, view, role);
            held.Add(snapshot);
            report.Add(
                $"1. snapshot build, {label}: wall p50 / p99",
                $"{samples.P50P99()} ms",
                $"CPU {Samples.Ms(cpuPerBuild)} ms per build (mean, process CPU incl. GC); {samples.Count} builds; {Describe(snapshot)}");
        }

        var heldManaged = GC.GetTotalMemory(true);
        var heldRss = Report.Rss();
        report.Add(
            "1. managed heap: mesh + registry",
            Report.Mb(dataManaged - baselineManaged),
            $"{options.Services} services, {options.Endpoints} instances (GC.GetTotalMemory(true) delta); registering them took {populate.ElapsedMilliseconds} ms");
        report.Add(
            "1. managed heap: + the 3 snapshots held",
            Report.Mb(heldManaged - dataManaged),
            $"gateway + unscoped sidecar + scoped sidecar, messages and packed Any bytes; total managed {Report.Mb(heldManaged)}");
        report.Add(
            "1. process RSS holding them",
            Report.Mb(heldRss),
            $"VmRSS; {Report.Mb(baselineRss)} before the mesh was generated; GC committed {Report.Mb(GC.GetGCMemoryInfo().TotalCommittedBytes)}");
        GC.KeepAlive(held);
        GC.KeepAlive(mesh);
    }

    public static string Describe(XdsSnapshot snapshot)
    {
        long bytes = 0;
        var endpoints = 0;
        foreach (var type in new[] { snapshot.Listeners, snapshot.Routes, snapshot.Clusters, snapshot.Endpoints })
        {
            foreach (var resource in type.Resources.Values)
            {
                bytes += resource.Packed.CalculateSize();
                if (resource.Message is Envoy.Config.Endpoint.V3.ClusterLoadAssignment assignment)
                {
                    foreach (var group in assignment.Endpoints)
                    {
                        endpoints += group.LbEndpoints.Count;
                    }
                }
            }
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"{snapshot.Listeners.Resources.Count} LDS, {snapshot.Routes.Resources.Count} RDS, {snapshot.Clusters.Resources.Count} CDS, {snapshot.Endpoints.Resources.Count} EDS ({endpoints} lb_endpoints), {Report.Mb(bytes)} serialized");
    }
}
