using System.Runtime.InteropServices;
using Herald.Benchmarks.ControlPlane;

var options = BenchOptions.Parse(args, out var error);
if (options is null)
{
    Console.Error.WriteLine($"{error}\n{BenchOptions.Usage}");
    return 2;
}

var report = new Report();
Console.Error.WriteLine($"control-plane bench: {options.Services} services, {options.Endpoints} endpoints, {options.Streams} streams, "
    + $"{Environment.ProcessorCount} CPUs, {RuntimeInformation.FrameworkDescription}, GC server={System.Runtime.GCSettings.IsServerGC}");
if (options.Parts.Contains(1))
{
    Console.Error.WriteLine("part 1: snapshot build and memory");
    SnapshotBench.Run(options, report);
}

if (options.Parts.Contains(2))
{
    Console.Error.WriteLine("part 2: endpoint change to connected ADS streams");
    foreach (var grpc in new[] { false, true })
    {
        foreach (var scoped in new[] { false, true })
        {
            await PropagationBench.RunAsync(options, report, grpc, scoped);
        }
    }
}

if (options.Parts.Contains(3))
{
    Console.Error.WriteLine("part 3: a sidecar applying a large EDS update");
    await SidecarApplyBench.RunAsync(options, report);
}

if (options.Parts.Contains(4))
{
    Console.Error.WriteLine("part 4: the etcd store: two replicas, registration to EDS, consistency, memory");
    await EtcdBench.RunAsync(options, report);
}

Console.Out.Write(report.ToMarkdown());
return 0;
