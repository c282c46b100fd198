using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds;
using Herald.Xds.Client;
using Xunit;
using static Herald.Tests.Xds.Client.AdsTestResources;

namespace Herald.Tests.Xds.Client;

public sealed class AdsClientTests
{
    private const string Lds = XdsTypeUrls.Listener;
    private const string Rds = XdsTypeUrls.RouteConfiguration;
    private const string Cds = XdsTypeUrls.Cluster;
    private const string Eds = XdsTypeUrls.ClusterLoadAssignment;

    [Fact]
    public async Task FirstRequest_OnStream_CarriesNodeAndLaterOnesDoNot()
    {
        await using var h = new AdsClientHarness();
        await h.Client.StartAsync(CancellationToken.None);
        var stream = await h.Server.NextSotwStreamAsync();

        var cds = await stream.ExpectAsync(Cds, "", "", []);
        Assert.Equal("sidecar-1", cds.Node?.Id);
        var lds = await stream.ExpectAsync(Lds, "", "", []);
        Assert.Null(lds.Node);

        var nonce = await stream.SendAsync(Cds, "1", StaticCluster("c1"));
        var ack = await stream.ExpectAsync(Cds, "1", nonce);
        Assert.Null(ack.Node);
    }

    [Fact]
    public async Task Response_Accepted_AppliesThenAcksVersionAndNonce()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var nonce = await stream.SendAsync(Cds, "v1", StaticCluster("c1"));
        await stream.ExpectAsync(Cds, "v1", nonce);

        Assert.Equal(["c1"], h.Target.Current.Clusters.Keys);
        Assert.Equal("v1", h.Target.Current.VersionsByTypeUrl[Cds]);
        var status = h.Client.Status.Find(Cds)!;
        Assert.Equal("v1", status.AcceptedVersion);
        Assert.Equal(nonce, status.LastNonce);
        Assert.Null(status.LastNack);
    }

    [Fact]
    public async Task Listener_RefusedByDataPlane_NacksWithErrorKeepsVersionAndAppliesNothing()
    {
        await using var h = new AdsClientHarness();
        h.Target.Decide = r => r.Listeners.ContainsKey("bad") ? XdsApplyResult.Refused("listener 'bad': address is missing") : XdsApplyResult.Ok;
        var stream = await h.StartSotwAsync();
        var n1 = await stream.SendAsync(Lds, "1", Listener("l1"));
        await stream.ExpectAsync(Lds, "1", n1);

        var n2 = await stream.SendAsync(Lds, "2", Listener("l1"), Listener("bad"));
        var nack = await stream.ExpectAsync(Lds, "1", n2, nack: true);

        Assert.Contains("address is missing", nack.ErrorDetail.Message, StringComparison.Ordinal);
        Assert.Single(h.Target.Accepted);
        Assert.Equal(["l1"], h.Target.Current.Listeners.Keys);
        var status = h.Client.Status.Find(Lds)!;
        Assert.Equal("1", status.AcceptedVersion);
        Assert.Equal("2", status.LastNack?.RejectedVersion);
        Assert.Contains("address is missing", status.LastNack?.Message, StringComparison.Ordinal);

        // The stream carries on: the next good update is accepted.
        var n3 = await stream.SendAsync(Lds, "3", Listener("l1"), Listener("l2"));
        await stream.ExpectAsync(Lds, "3", n3);
        Assert.Equal(["l1", "l2"], h.Target.Current.Listeners.Keys.Order());
    }

    [Fact]
    public async Task Cluster_RefusedByDataPlane_NacksAndKeepsPreviousClusters()
    {
        await using var h = new AdsClientHarness();
        h.Target.Decide = r => r.Clusters.ContainsKey("bad") ? XdsApplyResult.Refused("cluster 'bad': lb_policy is not supported") : XdsApplyResult.Ok;
        var stream = await h.StartSotwAsync();
        var n1 = await stream.SendAsync(Cds, "1", StaticCluster("c1"));
        await stream.ExpectAsync(Cds, "1", n1);

        var n2 = await stream.SendAsync(Cds, "2", StaticCluster("c1"), StaticCluster("bad"));
        var nack = await stream.ExpectAsync(Cds, "1", n2, nack: true);

        Assert.Contains("lb_policy", nack.ErrorDetail.Message, StringComparison.Ordinal);
        Assert.Equal(["c1"], h.Target.Current.Clusters.Keys);
        Assert.Equal("1", h.Client.Status.Find(Cds)!.AcceptedVersion);
    }

    [Fact]
    public async Task Response_DuplicateNames_NacksWithoutOfferingAnything()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var nonce = await stream.SendAsync(Lds, "1", Listener("l1"), Listener("l1"));
        var nack = await stream.ExpectAsync(Lds, "", nonce, nack: true);

        Assert.Contains("l1", nack.ErrorDetail.Message, StringComparison.Ordinal);
        Assert.Equal(0, h.Target.Offers);
    }

    [Fact]
    public async Task Response_ResourceThatDoesNotParse_Nacks()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();
        var response = new DiscoveryResponse { TypeUrl = Lds, VersionInfo = "1" };
        response.Resources.Add(new Any { TypeUrl = Lds, Value = ByteString.CopyFrom(0xFF, 0xFF, 0xFF) });

        var nonce = await stream.SendRawAsync(response);

        await stream.ExpectAsync(Lds, "", nonce, nack: true);
        Assert.Equal(0, h.Target.Offers);
    }

    [Fact]
    public async Task Response_ResourceOfAnotherType_Nacks()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var nonce = await stream.SendAsync(Lds, "1", StaticCluster("c1"));

        var nack = await stream.ExpectAsync(Lds, "", nonce, nack: true);
        Assert.Contains(Cds, nack.ErrorDetail.Message, StringComparison.Ordinal);
        Assert.Equal(0, h.Target.Offers);
    }

    [Fact]
    public async Task Lds_ListenerAbsentFromLaterResponse_IsDeleted()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();
        var n1 = await stream.SendAsync(Lds, "1", Listener("l1"), Listener("l2"));
        await stream.ExpectAsync(Lds, "1", n1);
        Assert.Equal(2, h.Target.Current.Listeners.Count);

        var n2 = await stream.SendAsync(Lds, "2", Listener("l1"));
        await stream.ExpectAsync(Lds, "2", n2);

        Assert.Equal(["l1"], h.Target.Current.Listeners.Keys);
    }

    [Fact]
    public async Task Rds_Subscription_FollowsListenerChanges()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var n1 = await stream.SendAsync(Lds, "1", Listener("l1", "r1"));
        await stream.ExpectAsync(Lds, "1", n1);
        await stream.ExpectAsync(Rds, "", "", ["r1"]);
        Assert.Equal(0, h.Target.Offers);

        var n2 = await stream.SendAsync(Rds, "1", Route("r1"));
        await stream.ExpectAsync(Rds, "1", n2, ["r1"]);
        Assert.Equal(["r1"], h.Target.Current.Routes.Keys);

        // The old route stays requested until the listener that replaces it is applied.
        var n3 = await stream.SendAsync(Lds, "2", Listener("l1", "r2"));
        await stream.ExpectAsync(Lds, "2", n3);
        await stream.ExpectAsync(Rds, "1", n2, ["r1", "r2"]);

        var n4 = await stream.SendAsync(Rds, "2", Route("r2"));
        await stream.ExpectAsync(Rds, "2", n4, ["r2"]);
        Assert.Equal(["r2"], h.Target.Current.Routes.Keys);

        var n5 = await stream.SendAsync(Lds, "3");
        await stream.ExpectAsync(Lds, "3", n5);
        await stream.ExpectAsync(Rds, "2", n4, []);
        Assert.Empty(h.Target.Current.Listeners);
        Assert.Empty(h.Target.Current.Routes);
    }

    [Fact]
    public async Task Rds_ApiListener_RequestsItsRouteConfiguration()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var nonce = await stream.SendAsync(Lds, "1", ApiListener("greeter", "greeter-routes"));

        await stream.ExpectAsync(Lds, "1", nonce);
        await stream.ExpectAsync(Rds, "", "", ["greeter-routes"]);
    }

    [Fact]
    public async Task Eds_Subscription_FollowsClusterChanges()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var n1 = await stream.SendAsync(Cds, "1", EdsCluster("c1", "s1"), EdsCluster("c2"));
        await stream.ExpectAsync(Cds, "1", n1);
        await stream.ExpectAsync(Eds, "", "", ["c2", "s1"]);

        var n2 = await stream.SendAsync(Eds, "1", Assignment("s1"), Assignment("c2"));
        await stream.ExpectAsync(Eds, "1", n2, ["c2", "s1"]);
        Assert.Equal(["c2", "s1"], h.Target.Current.Endpoints.Keys.Order());

        var n3 = await stream.SendAsync(Cds, "2", EdsCluster("c2"));
        await stream.ExpectAsync(Cds, "2", n3);
        await stream.ExpectAsync(Eds, "1", n2, ["c2"]);
        Assert.Equal(["c2"], h.Target.Current.Clusters.Keys);
        Assert.Equal(["c2"], h.Target.Current.Endpoints.Keys);
    }

    [Fact]
    public async Task Warming_ClustersWaitForEndpointsAndApplyBeforeListenersWhichWaitForRoutes()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var n1 = await stream.SendAsync(Cds, "1", EdsCluster("c1"));
        await stream.ExpectAsync(Cds, "1", n1);
        await stream.ExpectAsync(Eds, "", "", ["c1"]);
        var n2 = await stream.SendAsync(Lds, "1", Listener("l1", "r1"));
        await stream.ExpectAsync(Lds, "1", n2);
        await stream.ExpectAsync(Rds, "", "", ["r1"]);
        var n3 = await stream.SendAsync(Rds, "1", Route("r1"));
        await stream.ExpectAsync(Rds, "1", n3, ["r1"]);

        // Routes are here, but the listener still waits for its clusters to warm.
        Assert.Equal(0, h.Target.Offers);
        Assert.False(h.Client.WaitForInitialConfigAsync(CancellationToken.None).IsCompleted);

        var n4 = await stream.SendAsync(Eds, "1", Assignment("c1"));
        await stream.ExpectAsync(Eds, "1", n4, ["c1"]);

        Assert.Equal(2, h.Target.Accepted.Count);
        var clustersFirst = h.Target.Accepted[0];
        Assert.Equal(["c1"], clustersFirst.Clusters.Keys);
        Assert.Single(clustersFirst.Endpoints["c1"].Endpoints);
        Assert.Empty(clustersFirst.Listeners);
        var thenListeners = h.Target.Accepted[1];
        Assert.Equal(["l1"], thenListeners.Listeners.Keys);
        Assert.Equal(["r1"], thenListeners.Routes.Keys);
        Assert.Equal(["c1"], thenListeners.Clusters.Keys);
        await h.Client.WaitForInitialConfigAsync(CancellationToken.None).WaitAsync(ScriptedAdsServer.Patience);
    }

    [Fact]
    public async Task Warming_HeldClustersRefusedOnRelease_AreWithdrawnAndNackedLate()
    {
        await using var h = new AdsClientHarness();
        h.Target.Decide = r => r.Clusters.ContainsKey("bad") ? XdsApplyResult.Refused("cluster 'bad' is bad") : XdsApplyResult.Ok;
        var stream = await h.StartSotwAsync();
        var n1 = await stream.SendAsync(Cds, "1", EdsCluster("bad"));
        await stream.ExpectAsync(Cds, "1", n1);
        await stream.ExpectAsync(Eds, "", "", ["bad"]);

        var n2 = await stream.SendAsync(Eds, "1", Assignment("bad"));

        await stream.ExpectAsync(Cds, "", n1, nack: true);
        await stream.ExpectAsync(Eds, "1", n2, []);
        Assert.Empty(h.Target.Accepted);
        Assert.Equal("1", h.Client.Status.Find(Cds)!.LastNack?.RejectedVersion);
    }

    [Fact]
    public async Task Eds_NeverArrives_TreatedAsEmptyAfterArrivalTimeout()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();
        var n1 = await stream.SendAsync(Cds, "1", EdsCluster("c1"));
        await stream.ExpectAsync(Cds, "1", n1);
        await stream.ExpectAsync(Eds, "", "", ["c1"]);

        h.Time.Advance(TimeSpan.FromSeconds(14.9));
        Assert.Equal(0, h.Target.Offers);

        h.Time.Advance(TimeSpan.FromSeconds(0.1));
        var applied = await h.Target.NextOfferAsync();

        Assert.Equal(["c1"], applied.Clusters.Keys);
        Assert.Empty(applied.Endpoints["c1"].Endpoints);
        await h.Client.WaitForInitialConfigAsync(CancellationToken.None).WaitAsync(ScriptedAdsServer.Patience);
    }

    [Fact]
    public async Task StreamDrop_KeepsConfigReconnectsAfterBackoffAndResubscribesWithLastVersions()
    {
        await using var h = new AdsClientHarness(jitter: 0.5);
        var stream = await h.StartSotwAsync();
        Assert.True(await h.NextConnectionChangeAsync());
        var n1 = await stream.SendAsync(Cds, "c-1", EdsCluster("c1"));
        await stream.ExpectAsync(Cds, "c-1", n1);
        await stream.ExpectAsync(Eds, "", "", ["c1"]);
        var n2 = await stream.SendAsync(Eds, "e-1", Assignment("c1"));
        await stream.ExpectAsync(Eds, "e-1", n2, ["c1"]);
        var n3 = await stream.SendAsync(Lds, "l-1", Listener("l1", "r1"));
        await stream.ExpectAsync(Lds, "l-1", n3);
        await stream.ExpectAsync(Rds, "", "", ["r1"]);
        var n4 = await stream.SendAsync(Rds, "r-1", Route("r1"));
        await stream.ExpectAsync(Rds, "r-1", n4, ["r1"]);
        var offers = h.Target.Offers;
        var serving = h.Target.Current;

        await stream.DropAsync();

        // A stream that delivered config resets the backoff: half (the jitter) of 0.5 s.
        Assert.Equal(TimeSpan.FromMilliseconds(250), await h.NextReconnectDelayAsync());
        Assert.False(await h.NextConnectionChangeAsync());
        Assert.False(h.Client.IsConnected);
        Assert.Equal(offers, h.Target.Offers);
        Assert.Same(serving, h.Target.Current);

        h.Time.Advance(TimeSpan.FromMilliseconds(250) - TimeSpan.FromTicks(1));
        Assert.Equal(1, h.Server.ConnectAttempts);
        h.Time.Advance(TimeSpan.FromTicks(1));
        var again = await h.Server.NextSotwStreamAsync();

        var cds = await again.ExpectAsync(Cds, "c-1", "", []);
        Assert.Equal("sidecar-1", cds.Node?.Id);
        Assert.Null((await again.ExpectAsync(Eds, "e-1", "", ["c1"])).Node);
        await again.ExpectAsync(Lds, "l-1", "", []);
        await again.ExpectAsync(Rds, "r-1", "", ["r1"]);
        Assert.True(await h.NextConnectionChangeAsync());
        Assert.Equal(offers, h.Target.Offers);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.25)]
    public async Task Reconnect_ServerDown_BackoffDoublesToMaximumScaledByJitter(double jitter)
    {
        await using var h = new AdsClientHarness(jitter: jitter);
        h.Server.Refusing = true;
        await h.Client.StartAsync(CancellationToken.None);
        Assert.Equal(1, await h.Server.NextAttemptAsync());
        double[] ceilings = [0.5, 1, 2, 4, 8, 16, 30, 30];

        for (var i = 0; i < ceilings.Length; i++)
        {
            var delay = await h.NextReconnectDelayAsync();
            Assert.Equal(TimeSpan.FromSeconds(ceilings[i] * jitter), delay);

            h.Time.Advance(delay - TimeSpan.FromTicks(1));
            Assert.Equal(i + 1, h.Server.ConnectAttempts);
            h.Time.Advance(TimeSpan.FromTicks(1));
            Assert.Equal(i + 2, await h.Server.NextAttemptAsync());
        }

        Assert.False(h.Client.IsConnected);
    }

    [Fact]
    public async Task ConnectedChanged_FollowsStreamLossAndReturn()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();
        Assert.True(await h.NextConnectionChangeAsync());
        Assert.True(h.Client.IsConnected);

        await stream.DropAsync();
        var delay = await h.NextReconnectDelayAsync();
        Assert.False(await h.NextConnectionChangeAsync());
        Assert.False(h.Client.Status.Connected);

        h.Time.Advance(delay);
        await h.Server.NextSotwStreamAsync();
        Assert.True(await h.NextConnectionChangeAsync());
        Assert.True(h.Client.IsConnected);
    }

    [Fact]
    public async Task ConfigRejected_EachRefusedUpdate_RaisedOnceWithVersionAndReason()
    {
        await using var h = new AdsClientHarness();
        h.Target.Decide = r => r.Listeners.ContainsKey("bad") ? XdsApplyResult.Refused("cannot bind 0.0.0.0:8080: address in use") : XdsApplyResult.Ok;
        var stream = await h.StartSotwAsync();

        var n1 = await stream.SendAsync(Lds, "1", Listener("bad"));
        await stream.ExpectAsync(Lds, "", n1, nack: true);
        var (typeUrl, nack) = await h.NextRejectionAsync();
        Assert.Equal(Lds, typeUrl);
        Assert.Equal("1", nack.RejectedVersion);
        Assert.Contains("address in use", nack.Message, StringComparison.Ordinal);

        // An accepted update announces nothing; the next refusal is announced on its own.
        var n2 = await stream.SendAsync(Lds, "2", Listener("l1"));
        await stream.ExpectAsync(Lds, "2", n2);
        var n3 = await stream.SendAsync(Lds, "3", Listener("l1"), Listener("bad"));
        await stream.ExpectAsync(Lds, "2", n3, nack: true);
        Assert.Equal("3", (await h.NextRejectionAsync()).Nack.RejectedVersion);
        Assert.False(h.Rejections.Reader.TryRead(out _));
    }

    [Fact]
    public async Task StreamLost_ClosedByServerThenRefused_GivesReasonAndTheDelayOfTheNextAttempt()
    {
        await using var h = new AdsClientHarness(jitter: 0.5);
        var stream = await h.StartSotwAsync();

        h.Server.Refusing = true;
        await stream.DropAsync();
        var (closed, firstDelay) = await h.NextLossAsync();
        Assert.Equal("the control plane closed the stream", closed);
        Assert.Equal(TimeSpan.FromMilliseconds(250), firstDelay);

        h.Time.Advance(firstDelay);
        var (refused, secondDelay) = await h.NextLossAsync();
        Assert.Equal("cannot open the stream: connection refused (scripted)", refused);
        Assert.Equal(TimeSpan.FromMilliseconds(500), secondDelay);
    }

    [Fact]
    public async Task Response_WithNonceAlreadySeen_IsIgnored()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();
        await stream.SendWithNonceAsync(Cds, "1", "a", StaticCluster("c1"));
        await stream.ExpectAsync(Cds, "1", "a");

        await stream.SendWithNonceAsync(Cds, "2", "a", StaticCluster("c1"), StaticCluster("c2"));
        await stream.SendWithNonceAsync(Cds, "3", "b", StaticCluster("c1"), StaticCluster("c3"));

        await stream.ExpectAsync(Cds, "3", "b");
        Assert.Equal(2, h.Target.Offers);
        Assert.DoesNotContain(h.Target.Accepted, r => r.Clusters.ContainsKey("c2"));
        Assert.Equal(["c1", "c3"], h.Target.Current.Clusters.Keys.Order());
    }

    [Fact]
    public async Task Delta_RemovalAndReconnect_SendsInitialResourceVersions()
    {
        await using var h = new AdsClientHarness(AdsMode.Delta);
        await h.Client.StartAsync(CancellationToken.None);
        var stream = await h.Server.NextDeltaStreamAsync();
        var cds = await stream.ExpectAsync(Cds, "", ["*"], []);
        Assert.Equal("sidecar-1", cds.Node?.Id);
        Assert.Empty(cds.InitialResourceVersions);
        Assert.Null((await stream.ExpectAsync(Lds, "", ["*"], [])).Node);

        var d1 = await stream.SendAsync(Cds, "s1", [("a", StaticCluster("c1")), ("b", StaticCluster("c2"))]);
        await stream.ExpectAsync(Cds, d1);
        Assert.Equal(["c1", "c2"], h.Target.Current.Clusters.Keys.Order());

        var d2 = await stream.SendAsync(Cds, "s2", [], "c2");
        await stream.ExpectAsync(Cds, d2);
        Assert.Equal(["c1"], h.Target.Current.Clusters.Keys);
        Assert.Equal("s2", h.Client.Status.Find(Cds)!.AcceptedVersion);

        await stream.DropAsync();
        h.Time.Advance(await h.NextReconnectDelayAsync());
        var again = await h.Server.NextDeltaStreamAsync();

        var resumed = await again.ExpectAsync(Cds, "", ["*"], []);
        Assert.Equal("sidecar-1", resumed.Node?.Id);
        Assert.Equal(new Dictionary<string, string> { ["c1"] = "a" }, resumed.InitialResourceVersions);
        Assert.Empty((await again.ExpectAsync(Lds, "", ["*"], [])).InitialResourceVersions);
        Assert.Equal(["c1"], h.Target.Current.Clusters.Keys);
    }

    [Fact]
    public async Task Delta_RouteSubscription_FollowsListenersAndNacksCarryErrorDetail()
    {
        await using var h = new AdsClientHarness(AdsMode.Delta);
        await h.Client.StartAsync(CancellationToken.None);
        var stream = await h.Server.NextDeltaStreamAsync();
        await stream.ExpectAsync(Cds, "", ["*"]);
        await stream.ExpectAsync(Lds, "", ["*"]);

        var d1 = await stream.SendAsync(Lds, "s1", [("1", Listener("l1", "r1"))]);
        await stream.ExpectAsync(Lds, d1);
        await stream.ExpectAsync(Rds, "", ["r1"], []);

        var d2 = await stream.SendAsync(Rds, "s1", [("7", Route("r1"))]);
        await stream.ExpectAsync(Rds, d2);
        Assert.Equal(["l1"], h.Target.Current.Listeners.Keys);
        Assert.Equal(["r1"], h.Target.Current.Routes.Keys);

        var d3 = await stream.SendAsync(Lds, "s2", [("2", Listener("l2")), ("3", Listener("l2"))]);
        await stream.ExpectAsync(Lds, d3, nack: true);

        var d4 = await stream.SendAsync(Lds, "s3", [], "l1");
        await stream.ExpectAsync(Lds, d4);
        await stream.ExpectAsync(Rds, "", [], ["r1"]);
        Assert.Empty(h.Target.Current.Listeners);
        Assert.Empty(h.Target.Current.Routes);
    }
}
