/*
 * tests/clients/EpochCheckpoint.java - Kafka's own LeaderEpochCheckpointFile
 * (Kafka 4.4 jars, run with the source launcher: java -cp "$LIB/*" this-file)
 * reading or writing a leader-epoch-checkpoint, for tests/integration/t_dump_log.sh:
 *   read FILE              prints "epoch startOffset" per entry (exit 1 if Kafka refuses it)
 *   write FILE e:o ...     writes the entries the way a Kafka broker does
 */
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.storage.internals.checkpoint.LeaderEpochCheckpointFile;
import org.apache.kafka.storage.internals.log.EpochEntry;
import org.apache.kafka.storage.internals.log.LogDirFailureChannel;

public class EpochCheckpoint {
    public static void main(String[] args) throws Exception {
        File f = new File(args[1]);
        LeaderEpochCheckpointFile cp = new LeaderEpochCheckpointFile(f, new LogDirFailureChannel(1));
        if (args[0].equals("read")) {
            for (EpochEntry e : cp.read())
                System.out.println(e.epoch() + " " + e.startOffset());
        } else {
            List<EpochEntry> l = new ArrayList<>();
            for (int i = 2; i < args.length; i++) {
                String[] p = args[i].split(":");
                l.add(new EpochEntry(Integer.parseInt(p[0]), Long.parseLong(p[1])));
            }
            cp.write(l);
        }
    }
}
