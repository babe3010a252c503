import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * Runs an HDFS NameNode and one DataNode on 127.0.0.1 for tests.
 *
 * <p>Arguments: the base directory and the NameNode's RPC port. Once the
 * cluster is up, prints its URI (hdfs://127.0.0.1:PORT) on a line of its
 * own. Then reads commands on standard input, one a line, answering each
 * with "ok" or "error MESSAGE" on a line: "stop-namenode", "start-namenode".
 * Exits when standard input closes, or on SIGTERM, shutting the cluster
 * down.
 */
public final class MiniHDFS {
  public static void main(String[] args) throws Exception {
    File base = new File(args[0]);
    int port = Integer.parseInt(args[1]);
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getAbsolutePath());
    conf.set("hadoop.tmp.dir", new File(base, "tmp").getAbsolutePath());
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setInt("dfs.replication", 1);
    conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
    conf.setInt("dfs.namenode.safemode.extension", 0);
    conf.setInt("dfs.heartbeat.interval", 1);
    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf, base)
            .nameNodePort(port)
            .nameNodeHttpPort(0)
            .numDataNodes(1)
            .format(true)
            .build();
    cluster.waitActive();
    Thread onTerm = new Thread(cluster::shutdown);
    Runtime.getRuntime().addShutdownHook(onTerm);
    System.out.println("hdfs://127.0.0.1:" + cluster.getNameNodePort());
    System.out.flush();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      try {
        switch (line.trim()) {
          case "stop-namenode":
            cluster.shutdownNameNode(0);
            break;
          case "start-namenode":
            cluster.restartNameNode(0, true);
            cluster.waitActive();
            break;
          default:
            throw new IllegalArgumentException("unknown command " + line);
        }
        System.out.println("ok");
      } catch (Exception e) {
        System.out.println("error " + String.valueOf(e).replace('\n', ' '));
      }
      System.out.flush();
    }
    Runtime.getRuntime().removeShutdownHook(onTerm);
    cluster.shutdown();
    System.exit(0);
  }
}
