"""Visual exploration of the graph and of a trained run (``engine viz``).

Data flows one way, as everywhere in ReelGraph::

    Neo4j --(cypher/viz/*.cypher, recommend/*.cypher)--> engine.viz.data  (the only IO module)
          --> pure plotting modules: data in, figure files out
              embedding.py  embedding map (auto: PCA if the clusters separate, else t-SNE), KMeans
                            clusters named by genre lift, the genre-lift chart
              labels.py     non-overlapping text labels (greedy placement, leader lines)
              activity.py   user activity, segments, genre preference by segment
              training.py   training curves (history.json), rating-model evaluation plots
              subgraph.py   a user's recommendation subgraph: graph, layered layout, PNG
              subgraph_html.py  the same subgraph as an interactive page (pyvis)
              index.py      index.html: title, captions, tables
          --> report.py     runs all of it and writes ``index.html``

matplotlib, scikit-learn and pyvis are imported inside functions, so importing this
package (and ``engine --help``) stays fast.
"""
