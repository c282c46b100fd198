using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Herald.Benchmarks;

internal static class Program
{
    /// <summary>
    /// BenchmarkDotNet's switcher. <c>--quick</c> (Herald's own flag) runs every benchmark with
    /// a short job: 3 warm-ups, 5 iterations; good for a table in a few minutes, not for
    /// publishing. Benchmarks run in process by default: BenchmarkDotNet's separate build
    /// cannot restore the proxy, which is self-contained (linux-x64) in Release.
    /// <c>--activation [--quick] [--e2e [--herald PATH]]</c> runs <see cref="ActivationBench"/> instead;
    /// <c>--grpc-upstream PORT</c> runs the load harness's gRPC upstream (<see cref="GrpcUpstream"/>).
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        if (Array.IndexOf(args, "--grpc-upstream") >= 0)
        {
            return await GrpcUpstream.RunAsync(args);
        }

        if (Array.IndexOf(args, "--activation") >= 0)
        {
            return await ActivationBench.RunAsync(args);
        }

        var quick = Array.IndexOf(args, "--quick") >= 0;
        var rest = Array.FindAll(args, a => a != "--quick");
        var job = quick
            ? Job.ShortRun.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5)
            : Job.Default;
        var config = DefaultConfig.Instance.AddJob(job.WithToolchain(InProcessEmitToolchain.Instance).AsDefault());
        if (quick && rest.Length == 0)
        {
            rest = ["--filter", "*"];
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config);
        return 0;
    }
}
