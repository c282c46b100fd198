using System.Net;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Memory;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Cli;

/// <summary><c>herald proxy --bootstrap FILE [--admin ADDR]</c>.</summary>
internal static class ProxyCommand
{
    public const string DefaultAdmin = "127.0.0.1:15000";

    public static async Task<int> RunAsync(string[] args)
    {
        string? bootstrapPath = null;
        string? admin = null;
        string? drainTimeText = null;
        string? drainStrategy = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--bootstrap" or "-c" when i + 1 < args.Length:
                    bootstrapPath = args[++i];
                    break;
                case "--admin" when i + 1 < args.Length:
                    admin = args[++i];
                    break;
                case DrainOptions.DrainTimeOption when i + 1 < args.Length:
                    drainTimeText = args[++i];
                    break;
                case DrainOptions.DrainStrategyOption when i + 1 < args.Length:
                    drainStrategy = args[++i];
                    break;
                default:
                    return Usage($"unknown or incomplete option '{args[i]}'");
            }
        }

        if (bootstrapPath is null)
        {
            return Usage("--bootstrap FILE is required");
        }

        var stats = new StatsStore();
        ProxyConfig config;
        IPEndPoint adminAddress;
        TimeSpan drainTime;
        try
        {
            drainTime = DrainOptions.Parse(drainTimeText, drainStrategy);
            var bootstrap = BootstrapLoader.LoadFile(bootstrapPath);
            config = BootstrapTranslator.Translate(bootstrap, stats);
            adminAddress = admin is not null ? ParseAddress(admin, "--admin") : config.AdminAddress ?? ParseAddress(DefaultAdmin, "--admin");
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"herald: invalid configuration: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        return await RunAsync(config, adminAddress, stats, announce: null, drainTime: drainTime).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a data plane until SIGTERM/SIGINT (which drain the listeners first, up to
    /// <paramref name="drainTime"/>; a second signal cuts the drain short) or /quitquitquit.
    /// </summary>
    public static async Task<int> RunAsync(ProxyConfig config, IPEndPoint adminAddress, StatsStore stats, Action<DataPlane>? announce, Func<XdsConfigTarget, AdsConnector>? connectAds = null, TimeSpan? drainTime = null)
    {
        using var stop = new CancellationTokenSource();
        using var cutDrain = new CancellationTokenSource();
        void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
        {
            context.Cancel = true;
            if (stop.IsCancellationRequested)
            {
                cutDrain.Cancel();
            }
            else
            {
                stop.Cancel();
            }
        }

        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);

        DataPlane plane;
        var time = TimeProvider.System;
        var dynamic = config.AdsConfig is not null || connectAds is not null;
        try
        {
            plane = await DataPlane.StartAsync(config, adminAddress, stats, time, new SystemDnsResolver(), stop.Token, readyWhenStarted: false).ConfigureAwait(false);
            plane.DrainTime = drainTime ?? DataPlane.DefaultDrainTime;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            Console.Error.WriteLine($"herald: cannot start: {e.Message}");
            return CommandLine.ExitFailure;
        }

        StartupMemory.CollectStartupGarbage();
        using var stopPageOut = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var pagedOut = PageOutStartupPagesAsync(plane, time, stopPageOut.Token);
        if (!dynamic)
        {
            plane.MarkReady();
        }

        AdsConnector? ads = null;
        if (dynamic)
        {
            var target = new XdsConfigTarget(config, stats, () => plane);
            ads = connectAds is not null ? connectAds(target) : AdsConnector.ForGrpc(config, target, stats, time);
            plane.XdsStatus = () => ads.Client.Status;
            await ads.StartAsync().ConfigureAwait(false);
        }

        await using (plane.ConfigureAwait(false))
        await using (ads is null ? NoOp.Instance : (IAsyncDisposable)ads)
        {
            Console.Out.WriteLine($"herald: admin on http://{plane.AdminAddress}");
            foreach (var listener in plane.Listeners)
            {
                Console.Out.WriteLine($"herald: listener '{listener.Config.Name}' on {listener.BoundAddress}");
            }

            announce?.Invoke(plane);
            await Task.WhenAny(Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default), plane.QuitRequested.Task).ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                Console.Out.WriteLine($"herald: draining listeners (up to {plane.DrainTime.TotalSeconds:0.###} s)");
                var started = time.GetTimestamp();
                try
                {
                    await plane.DrainListenersAsync(inboundOnly: false, cutDrain.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Second signal while waiting to start the drain.
                }

                Console.Out.WriteLine($"herald: drained in {time.GetElapsedTime(started).TotalSeconds:0.###} s");
            }

            Console.Out.WriteLine("herald: shutting down");
        }

        await stopPageOut.CancelAsync().ConfigureAwait(false);
        await pagedOut.ConfigureAwait(false);

        return CommandLine.ExitOk;
    }

    /// <summary>
    /// Once ready (a dynamic bootstrap: once its first config is applied) and the runtime has
    /// finished compiling what startup and the first requests needed; off the startup path, so
    /// /ready is not held up by it.
    /// </summary>
    private static async Task PageOutStartupPagesAsync(DataPlane plane, TimeProvider time, CancellationToken stopping)
    {
        try
        {
            await plane.FirstReady.WaitAsync(stopping).ConfigureAwait(false);
            await StartupMemory.PageOutWhenSettledAsync(
                static () => System.Runtime.JitInfo.GetCompiledMethodCount(),
                static () => StartupMemory.PageOutStartupPages(static bytes => Console.Out.WriteLine(
                    $"herald: returning {bytes / (1024.0 * 1024):0.0} MB of file pages only startup used ({StartupMemory.PageOutVariable}=0 keeps them)")),
                time,
                stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping before startup settled: nothing to give back.
        }
    }

    private sealed class NoOp : IAsyncDisposable
    {
        public static readonly NoOp Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    public static IPEndPoint ParseAddress(string text, string option)
    {
        if (IPEndPoint.TryParse(text, out var endpoint) && text.Contains(':', StringComparison.Ordinal))
        {
            return endpoint;
        }

        throw new ConfigException(option, $"'{text}' is not an address", "Use IP:PORT, for example 127.0.0.1:15000");
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"herald proxy: {problem}\n{CommandLine.Usage}");
        return CommandLine.ExitBadConfig;
    }
}
