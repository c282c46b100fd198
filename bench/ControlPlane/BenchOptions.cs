using System.Globalization;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>Command-line options; every one has a default matching issue 3's figures.</summary>
internal sealed class BenchOptions
{
    public int Services { get; private set; } = 1000;

    public int Endpoints { get; private set; } = 10_000;

    public int Streams { get; private set; } = 100;

    /// <summary>Dependencies of each scoped sidecar.</summary>
    public int Deps { get; private set; } = 10;

    /// <summary>Timed snapshot builds per node kind (ten times as many for the small scoped one).</summary>
    public int Builds { get; private set; } = 30;

    /// <summary>Endpoint changes timed per propagation row.</summary>
    public int Changes { get; private set; } = 20;

    /// <summary>EDS updates timed per sidecar row.</summary>
    public int Updates { get; private set; } = 20;

    /// <summary>Quiet time after connecting and between changes, so streams settle.</summary>
    public int PauseMs { get; private set; } = 300;

    public string? HeraldPath { get; private set; }

    public HashSet<int> Parts { get; } = [];

    public const string Usage =
        "usage: dotnet run -c Release --project bench/ControlPlane -- [--services 1000] [--endpoints 10000] [--streams 100]\n"
        + "       [--deps 10] [--builds 30] [--changes 20] [--updates 20] [--pause-ms 300] [--part 1|2|3|4 ...] [--herald PATH]\n"
        + "       part 4 (etcd store, several replicas) runs only when asked and needs etcd (Debian's etcd-server) on PATH";

    public static BenchOptions? Parse(string[] args, out string? error)
    {
        var options = new BenchOptions();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"'{name}' needs a value";
                return null;
            }

            var value = args[++i];
            if (name == "--herald")
            {
                options.HeraldPath = value;
                continue;
            }

            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < 1)
            {
                error = $"'{name}' takes a positive integer, got '{value}'";
                return null;
            }

            switch (name)
            {
                case "--services":
                    options.Services = number;
                    break;
                case "--endpoints":
                    options.Endpoints = number;
                    break;
                case "--streams":
                    options.Streams = number;
                    break;
                case "--deps":
                    options.Deps = number;
                    break;
                case "--builds":
                    options.Builds = number;
                    break;
                case "--changes":
                    options.Changes = number;
                    break;
                case "--updates":
                    options.Updates = number;
                    break;
                case "--pause-ms":
                    options.PauseMs = number;
                    break;
                case "--part" when number is >= 1 and <= 4:
                    options.Parts.Add(number);
                    break;
                default:
                    error = $"unknown option '{name}'";
                    return null;
            }
        }

        if (options.Endpoints > 0xFFFFFF)
        {
            error = "--endpoints is at most 16777215 (addresses are 10.x.y.z)";
            return null;
        }

        if (options.Parts.Count == 0)
        {
            options.Parts.UnionWith([1, 2, 3]);
        }

        return options;
    }
}
